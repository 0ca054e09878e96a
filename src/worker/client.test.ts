// The thread layer with real threads: a TypeScript module under tsx and a plain script, typed
// errors across the boundary, a dead thread failing what it was asked, restart, close.
import { describe, expect, it } from 'vitest';
import { ThreadClient, ThreadLost } from './client.js';

type Req = number[] | 'die' | 'fail';

describe('ThreadClient', () => {
  it('runs a TypeScript module: replies, notices, errors with their fields, death, restart', async () => {
    const notices: unknown[] = [];
    const lost: ThreadLost[] = [];
    const t = new ThreadClient<Req, number[], { count: number }>({
      entry: { module: 'src/worker/echo.fixture.ts' }, name: 'echo thread', workerData: { factor: 3 },
      onNotice: (n) => notices.push(n), onLost: (e) => lost.push(e),
    });
    try {
      expect(await t.request([1, 2])).toEqual([3, 6]);
      expect(notices).toEqual([{ count: 2 }]);
      expect(t.answered).toBe(true);
      await expect(t.request('fail')).rejects.toMatchObject({ message: 'asked to fail', code: 'EFIXTURE', detail: 7 });
      const pending = t.request([5]);
      const dying = t.request('die');
      await expect(dying).rejects.toBeInstanceOf(ThreadLost);
      await pending.catch(() => undefined); // answered before the death, or failed with it
      expect(lost.map((e) => e.message)).toEqual(['echo thread exited (code 3)']);
      expect(await t.request([4])).toEqual([12]); // a fresh thread
    } finally {
      await t.close();
    }
    await expect(t.request([1])).rejects.toThrow(/echo thread is closed/);
  });

  it('runs a self-contained script; a broken entry fails as ThreadLost', async () => {
    const script = `function start(ctx) { return (s) => s.toUpperCase() + ctx.workerData; }`;
    const t = new ThreadClient<string, string>({ entry: { script }, name: 'upper thread', workerData: '!' });
    expect(await t.request('abc')).toBe('ABC!');
    await t.close();
    const bad = new ThreadClient<string, string>({ entry: { module: 'src/worker/no-such-module.js' }, name: 'bad thread' });
    const e = await bad.request('x').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ThreadLost);
    expect((e as Error).message).toMatch(/^bad thread (failed|exited)/);
    expect(bad.answered).toBe(false);
    await bad.close();
  });
});
