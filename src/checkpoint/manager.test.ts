import * as fsp from 'node:fs/promises';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tensor, type NamedTensor } from '../tensor.js';
import { loadCheckpoint, verifyCheckpoint } from './dir.js';
import type { CkptFs } from './fsio.js';
import { CheckpointManager, type DurableEvent } from './manager.js';
import { readRunMetadata } from './metadata.js';

const root = await mkdtemp(path.join(tmpdir(), 'ckpt-mgr-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;
const newRun = () => path.join(root, `run_${++n}`);
const quiet = { warn: () => undefined };
const w = (v: number, len = 256): NamedTensor[] => [tensor('param.w', 'float32', [len], new Float32Array(len).fill(v))];
const st = (step: number) => ({ epoch: 0, stepInEpoch: step, globalStep: step });

/** fs that logs calls and lets a test fail or hold them. */
function testFs(hooks: { before?: (op: string, p: string) => Promise<void> | void } = {}) {
  const log: string[] = [];
  const wrap = <K extends keyof CkptFs>(op: K) =>
    (async (...args: unknown[]) => {
      const p = String(args[0]);
      const short = `${op} ${path.basename(path.dirname(p))}/${path.basename(p)}${op === 'rename' ? ` -> ${path.basename(String(args[1]))}` : ''}`;
      await hooks.before?.(op, p);
      log.push(short);
      const r = await (fsp[op] as (...a: unknown[]) => Promise<unknown>)(...args);
      if (op === 'open') {
        const h = r as fsp.FileHandle;
        return new Proxy(h, {
          get(t, k) {
            const v = Reflect.get(t, k, t);
            if (typeof v !== 'function') return v;
            if (k === 'write' || k === 'sync' || k === 'writeFile') {
              return async (...a: unknown[]) => {
                await hooks.before?.(String(k), p);
                if (k === 'sync') log.push(`sync ${path.basename(path.dirname(p))}/${path.basename(p)}`);
                return v.apply(t, a);
              };
            }
            return v.bind(t);
          },
        });
      }
      return r;
    }) as CkptFs[K];
  const fs: CkptFs = { open: wrap('open'), mkdir: wrap('mkdir'), rename: wrap('rename'), rm: wrap('rm'), readdir: wrap('readdir'), stat: wrap('stat'), readFile: wrap('readFile'), writeFile: wrap('writeFile'), unlink: wrap('unlink') };
  return { fs, log };
}

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

describe('CheckpointManager', () => {
  it('saves in the background, copies the bytes, reports durable, writes metadata.json', async () => {
    const runDir = newRun();
    const m = await CheckpointManager.open(runDir, { keep: { best: { monitor: 'val', mode: 'min' } } }, quiet);
    const events: DurableEvent[] = [];
    m.onDurable((e) => events.push(e));
    const ts = w(1);
    const h = m.save('last', ts, { ...st(5), metrics: [{ epoch: 0, globalStep: 5, values: { val: 0.5 } }] });
    (ts[0].data as Float32Array).fill(99); // copy mode: the snapshot must not see this
    const ev = await h.durable;
    expect(ev).toMatchObject({ kind: 'last', globalStep: 5, name: 'last-000000005', metrics: { val: 0.5 } });
    expect(events).toHaveLength(1);
    const l = await loadCheckpoint(ev.dir);
    expect(l.tensors.get('param.w')!.data[0]).toBe(1);
    expect(ev.manifest.tensors['param.w'].sha256).toMatch(/^[0-9a-f]{64}$/);
    await m.close();
    const meta = await readRunMetadata(runDir);
    expect(meta?.checkpoints.map((c) => c.name)).toEqual(['last-000000005']);
    expect(meta?.best).toMatchObject({ name: 'last-000000005', metric: 'val', value: 0.5 });
    await expect(async () => m.save('last', w(1), st(6))).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a newer save replaces a pending one, unless it must be kept (permanent / best)', async () => {
    let release!: () => void;
    let gate: Promise<void> | null = new Promise((r) => (release = r));
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const { fs } = testFs({ before: async (op) => { if (op === 'write' && gate) { reached(); await gate; } } });
    const m = await CheckpointManager.open(newRun(), { keep: { lastN: 10, best: { monitor: 'val', mode: 'max' } } }, { fs, ...quiet });
    const a = m.save('recovery', w(1), st(1)); // in flight, held at its first write
    await atGate;
    const b = m.save('recovery', w(2), st(2)); // pending
    const p = m.save('permanent', w(3), st(3), { name: 'epoch-001' }); // replaces b, must be kept
    const bestSave = m.save('last', w(4), st(4), { metrics: { val: 0.9 } }); // improves best: kept
    const c = m.save('recovery', w(5), st(5));
    const d = m.save('recovery', w(6), st(6)); // replaces c
    gate = null;
    release();
    await m.flush();
    expect((await a.durable).globalStep).toBe(1);
    expect((await b.durable).name).toBe('epoch-001');
    expect((await p.durable).name).toBe('epoch-001');
    expect((await bestSave.durable).globalStep).toBe(4);
    expect((await c.durable).globalStep).toBe(6);
    expect((await d.durable).globalStep).toBe(6);
    expect(m.checkpoints.map((x) => x.globalStep)).toEqual([3, 4, 6]); // recovery-1 covered by epoch end at 3
    await m.close();
  });

  for (const code of ['ENOSPC', 'EACCES']) {
    it(`${code} during a background write surfaces on the next save() and flush(); earlier checkpoints stay intact`, async () => {
      let fail: string | null = null;
      const { fs } = testFs({ before: (op, p) => { if (fail && op === fail && p.includes('.tmp-')) throw errno(code); } });
      const runDir = newRun();
      const m = await CheckpointManager.open(runDir, { keep: { lastN: 1 } }, { fs, ...quiet });
      const first = await m.save('last', w(1), st(1)).durable;
      fail = code === 'ENOSPC' ? 'write' : 'mkdir';
      const h = m.save('last', w(2), st(2));
      await expect(h.durable).rejects.toMatchObject({ code: 'WRITE_FAILED' });
      await expect(m.flush()).rejects.toThrow(new RegExp(code));
      await m.flush(); // reported once
      fail = 'write';
      await m.save('last', w(3), st(3)).durable.catch(() => undefined); // fails in the background
      let thrown: unknown;
      try {
        m.save('last', w(4), st(4));
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toMatchObject({ code: 'WRITE_FAILED' });
      expect(((thrown as Error).cause as NodeJS.ErrnoException).code).toBe(code);
      await verifyCheckpoint(first.dir);
      expect((await loadCheckpoint(first.dir)).tensors.get('param.w')!.data[0]).toBe(1);
      expect((await readdir(path.join(runDir, 'checkpoints'))).sort()).toEqual(['last-000000001']); // no staging debris
      fail = null;
      expect((await m.save('last', w(5), st(5)).durable).globalStep).toBe(5);
      await m.close();
    });
  }

  it('deletes only after the replacement is durable (order of file operations and events)', async () => {
    const { fs, log } = testFs();
    const m = await CheckpointManager.open(newRun(), { keep: { lastN: 1 } }, { fs, ...quiet });
    const events: string[] = [];
    m.onDurable((e) => events.push(`durable ${e.name}`));
    m.onDeleted((e) => events.push(`deleted ${e.name}`));
    await m.save('last', w(1), st(1)).durable;
    log.length = 0;
    await m.save('last', w(2), st(2)).durable;
    await m.flush();
    expect(events).toEqual(['durable last-000000001', 'durable last-000000002', 'deleted last-000000001']);
    const i = (re: RegExp) => log.findIndex((l) => re.test(l));
    const syncTensors = i(/^sync .tmp-last-000000002.*\/tensors.safetensors$/);
    const syncManifest = i(/^sync .tmp-last-000000002.*\/manifest.json$/);
    const commit = i(/^rename .*\.tmp-last-000000002\S* -> last-000000002$/);
    const syncRoot = log.findIndex((l, k) => k > commit && /^sync run_\d+\/checkpoints$/.test(l));
    const trash = i(/^rename checkpoints\/last-000000001 -> \.del-/);
    expect(Math.min(syncTensors, syncManifest, commit, syncRoot, trash)).toBeGreaterThanOrEqual(0);
    expect(syncTensors).toBeLessThan(syncManifest);
    expect(syncManifest).toBeLessThan(commit);
    expect(commit).toBeLessThan(syncRoot);
    expect(syncRoot).toBeLessThan(trash);
    await m.close();
  });

  it('disk cap: oldest rotating go first; a save that cannot fit is refused before writing', async () => {
    const { fs, log } = testFs();
    const one = 4000 * 4 + 2000; // ~ one checkpoint
    const m = await CheckpointManager.open(newRun(), { keep: { lastN: 10, best: { monitor: 'val', mode: 'min' } }, diskCapBytes: Math.round(3.5 * one) + 16384 }, { fs, ...quiet });
    await m.save('last', w(1, 4000), st(1), { metrics: { val: 0.1 } }).durable; // best
    for (let s = 2; s <= 6; s++) await m.save('last', w(s, 4000), st(s), { metrics: { val: 1 } }).durable;
    const names = m.checkpoints.map((c) => c.globalStep);
    expect(names[0]).toBe(1); // best kept
    expect(names.at(-1)).toBe(6);
    expect(names.length).toBeLessThan(6);
    await m.flush();
    log.length = 0;
    expect(() => m.save('last', w(7, 40000), st(7))).toThrow(/below the size of one checkpoint/); // could never fit: refused at once
    const h = m.save('last', w(7, 12000), st(7)); // fits the cap alone, not beside the newest and the best
    await expect(h.durable).rejects.toMatchObject({ code: 'DISK_CAP' });
    await expect(m.flush()).rejects.toThrow(/disk cap/);
    expect(log.some((l) => l.includes('.tmp-'))).toBe(false);
    expect(m.checkpoints.map((c) => c.globalStep)).toEqual(names);
    await m.close();
  });

  it('lock: a second manager on the same run dir is refused; a dead owner is taken over', async () => {
    const runDir = newRun();
    const m = await CheckpointManager.open(runDir, {}, quiet);
    await expect(CheckpointManager.open(runDir, {}, quiet)).rejects.toMatchObject({ code: 'LOCKED' });
    await m.close();
    const { spawnSync } = await import('node:child_process');
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']).stdout.toString().trim();
    await fsp.writeFile(path.join(runDir, '.lock'), JSON.stringify({ pid: Number(dead), host: (await import('node:os')).hostname(), started: 'x', token: 't' }));
    const warnings: string[] = [];
    const m2 = await CheckpointManager.open(runDir, {}, { warn: (x) => warnings.push(x) });
    expect(warnings.join()).toMatch(/stale lock/);
    await m2.close();
  });

  it('lock: a just-created lock whose content is not written yet is waited for, not taken over', async () => {
    const runDir = newRun();
    await fsp.mkdir(runDir, { recursive: true });
    const lock = path.join(runDir, '.lock');
    await fsp.writeFile(lock, ''); // another opener between open('wx') and writing its content
    let waiting!: () => void;
    const sawEmptyLock = new Promise<void>((r) => (waiting = r));
    const { fs } = testFs({ before: (op, p) => { if (op === 'stat' && p === lock) waiting(); } }); // it read no content and checks the lock's age
    const opening = CheckpointManager.open(runDir, {}, { ...quiet, fs });
    await sawEmptyLock;
    const other = process.ppid; // a live process on this host that is not this one
    await fsp.writeFile(lock, JSON.stringify({ pid: other, host: (await import('node:os')).hostname(), started: 'x', token: 'other' }));
    await expect(opening).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(opening).rejects.toThrow(`in use by pid ${other}`);
    await fsp.rm(lock);
  });

  it('removes leftover temp dirs at startup and picks up existing checkpoints', async () => {
    const runDir = newRun();
    const m = await CheckpointManager.open(runDir, {}, quiet);
    await m.save('last', w(1), st(1)).durable;
    await m.close();
    await fsp.mkdir(path.join(runDir, 'checkpoints', '.tmp-last-000000002-123-abc'));
    const warnings: string[] = [];
    const m2 = await CheckpointManager.open(runDir, {}, { warn: (x) => warnings.push(x) });
    expect(warnings.join()).toMatch(/\.tmp-last-000000002/);
    expect(await readdir(path.join(runDir, 'checkpoints'))).toEqual(['last-000000001']);
    expect(m2.checkpoints.map((c) => c.name)).toEqual(['last-000000001']);
    await m2.close();
  });

  it('a throwing or rejecting listener becomes a warning, not a failed save', async () => {
    const warnings: string[] = [];
    const m = await CheckpointManager.open(newRun(), {}, { warn: (x) => warnings.push(x) });
    m.onDurable(() => {
      throw new Error('sync boom');
    });
    m.onDurable(async () => {
      throw new Error('async boom');
    });
    await m.save('last', w(1), st(1)).durable;
    await m.flush();
    expect(warnings.join('\n')).toMatch(/sync boom[\s\S]*async boom/);
    await m.close();
  });

  it('rejects bad options and bad state with messages naming the field', async () => {
    await expect(CheckpointManager.open(newRun(), { keep: { lastN: -1 } } as never, quiet)).rejects.toThrow(/keep.lastN/);
    const m = await CheckpointManager.open(newRun(), {}, quiet);
    expect(() => m.save('last', w(1), { epoch: 0, stepInEpoch: 0 } as never)).toThrow(/globalStep/);
    expect(() => m.save('last', w(1), { ...st(1), extra: { seed: 1n } })).toThrow(/plain JSON.*BigInt/);
    // a NaN loss must not make the checkpoint unreadable
    const ev = await m.save('last', w(1), { ...st(1), metrics: [{ epoch: 0, globalStep: 1, values: { loss: NaN, acc: 0.5 } }] }).durable;
    expect(ev.metrics).toEqual({ acc: 0.5 });
    expect((await loadCheckpoint(ev.dir)).state.metrics[0].values).toEqual({ loss: null, acc: 0.5 });
    await m.close();
  });
});

describe('a run folder that cannot be created or written is named with the cause and the fix', () => {
  it('a file in the way (the folder itself, or a parent)', async () => {
    const file = path.join(root, 'afile');
    await fsp.writeFile(file, 'x');
    for (const dir of [file, path.join(file, 'run')]) {
      const err = await CheckpointManager.open(dir, {}, quiet).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'NOT_WRITABLE' });
      expect((err as Error).message).toBe(`cannot use ${dir} as the run folder: ${file} is a file, not a folder. Choose another output folder (--out DIR, or "out" in the config / notebook), or move that file away.`);
    }
  });

  it('a read-only file system (tmpfs mounted ro), both for a new and an existing run folder', async (ctx) => {
    const mnt = await mkdtemp(path.join(tmpdir(), 'ckpt-ro-'));
    const { spawnSync } = await import('node:child_process');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) return ctx.skip(`mount -t tmpfs is not permitted here: ${(m.stderr || m.error?.message || '').trim()}`);
    try {
      const err = await CheckpointManager.open(path.join(mnt, 'runs', 'r1'), {}, quiet).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'NOT_WRITABLE' });
      expect((err as Error).message).toMatch(new RegExp(`runs/r1 cannot be created: ${mnt} is on a read-only file system\\. Choose another output folder \\(--out DIR.*that you can write`));
      spawnSync('mount', ['-o', 'remount,rw', mnt]);
      await fsp.mkdir(path.join(mnt, 'existing'));
      spawnSync('mount', ['-o', 'remount,ro', mnt]);
      const err2 = await CheckpointManager.open(path.join(mnt, 'existing'), {}, quiet).catch((e: Error) => e);
      expect((err2 as Error).message).toMatch(/existing cannot be written: .*existing is on a read-only file system/);
    } finally {
      spawnSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    }
  });
});

describe('best-only saves and the disk cap', () => {
  it("every-epoch saves off: an epoch end that improves the best is a 'best' save, others are none", async () => {
    const m = await CheckpointManager.open(newRun(), { save: { everyEpoch: false }, keep: { best: { monitor: 'val_loss' } } }, quiet);
    const ev = (step: number, v: number) => ({ epoch: step, stepInEpoch: 0, globalStep: step, epochEnd: true, metrics: { val_loss: v } });
    expect(m.shouldSave(ev(1, 2))).toEqual({ kind: 'best', metrics: { val_loss: 2 } });
    await m.save(m.shouldSave(ev(1, 2))!, w(1), st(1)).durable;
    expect(m.shouldSave(ev(2, 3))).toBeNull(); // worse
    expect(m.shouldSave({ ...ev(2, 1), epochEnd: false })).toBeNull(); // not an epoch end
    const h = m.save(m.shouldSave(ev(3, 1))!, w(3), st(3));
    expect(m.shouldSave(ev(4, 1.5))).toBeNull(); // compared with the queued best, not only the durable one
    await h.durable;
    expect(m.checkpoints.map((c) => c.name)).toEqual(['best-000000001', 'best-000000003']);
    await m.close();
  });

  it('a cap below one checkpoint is refused by checkFits() and by save(), before anything is written', async () => {
    const dir = newRun();
    const m = await CheckpointManager.open(dir, { diskCapBytes: 2000 }, quiet);
    expect(() => m.checkFits([{ dtype: 'float32', shape: [16, 16] }])).toThrow(/disk cap \(diskCapBytes 2000 bytes\) is below the size of one checkpoint/);
    expect(() => m.save('last', w(1, 1024), st(1))).toThrow(expect.objectContaining({ code: 'DISK_CAP' }));
    await m.close();
    expect(await readdir(path.join(dir, 'checkpoints')).catch(() => [])).toEqual([]);
  });
});
