// The thread layer with real threads: a TypeScript module under tsx, plain scripts (they start
// fast, so the death/restart cases use them), errors with their fields across the boundary.
import { describe, expect, it } from 'vitest';
import { ThreadClient, ThreadLost } from './client.js';

describe('ThreadClient', () => {
  it('runs a TypeScript module: replies, notices, errors with their fields', async () => {
    const notices: unknown[] = [];
    const t = new ThreadClient<number[] | 'fail', number[], { count: number }>({
      entry: { module: 'src/worker/echo.fixture.ts' }, name: 'echo thread', workerData: { factor: 3 }, onNotice: (n) => notices.push(n),
    });
    try {
      expect(await t.request([1, 2])).toEqual([3, 6]);
      expect(notices).toEqual([{ count: 2 }]);
      await expect(t.request('fail')).rejects.toMatchObject({ message: 'asked to fail', code: 'EFIXTURE', detail: 7 });
    } finally {
      await t.close();
    }
    await expect(t.request([1])).rejects.toThrow(/echo thread is closed/);
  });

  it('a dead thread fails what it was asked (ThreadLost, once) and the next request starts a new one', async () => {
    const script = `function start(ctx) { return (s) => (s === 'die' ? process.exit(3) : s.toUpperCase() + ctx.workerData); }`;
    const lost: string[] = [];
    const t = new ThreadClient<string, string>({ entry: { script }, name: 'upper thread', workerData: '!', onLost: (e) => lost.push(e.message) });
    try {
      expect(await t.request('abc')).toBe('ABC!');
      expect(t.answered).toBe(true);
      await expect(t.request('die')).rejects.toBeInstanceOf(ThreadLost);
      expect(lost).toEqual(['upper thread exited (code 3)']);
      expect(await t.request('again')).toBe('AGAIN!');
    } finally {
      await t.close();
    }
  });

  it('an entry that cannot load fails as ThreadLost before any answer', async () => {
    const bad = new ThreadClient<string, string>({ entry: { module: 'src/worker/no-such-module.js' }, name: 'bad thread' });
    const e = await bad.request('x').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ThreadLost);
    expect((e as Error).message).toMatch(/^bad thread (failed|exited)/);
    expect(bad.answered).toBe(false);
    await bad.close();
  });
});
