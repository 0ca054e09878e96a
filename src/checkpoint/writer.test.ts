// The worker-thread writer against the inline one: same bytes, same manifest, transfer-mode
// ownership, and the reason it exists: a save stays on schedule while this thread is blocked.
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tensor, type NamedTensor } from '../tensor.js';
import { loadCheckpoint } from './dir.js';
import { nodeFs } from './fsio.js';
import { CheckpointManager } from './manager.js';
import { readRunMetadata } from './metadata.js';
import { AtomicRenameTarget } from './commit.js';
import { parseTrainState } from './state.js';
import { InlineWriter, ThreadWriter, type WriteJob } from './writer.js';

const root = await mkdtemp(path.join(tmpdir(), 'ckpt-writer-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;
const newRun = () => path.join(root, `run_${++n}`);
const quiet = { warn: () => undefined };
const st = (step: number) => ({ epoch: 1, stepInEpoch: step, globalStep: step, metrics: [{ epoch: 1, globalStep: step, values: { loss: 0.25 } }], extra: { note: 'ü' } });

function mixed(): NamedTensor[] {
  const odd = new Uint8Array(1001).map((_, i) => i * 7);
  return [
    tensor('param.w', 'float32', [300, 7], Float32Array.from({ length: 2100 }, (_, i) => Math.sin(i))),
    tensor('opt.step', 'int64', [3], BigInt64Array.from([1n, -2n, 3n ** 30n])),
    tensor('param.h', 'float16', [5], Uint16Array.from([1, 2, 3, 4, 0x3c00])),
    tensor('buffer.mask', 'bool', [7], Uint8Array.from([1, 0, 1, 1, 0, 0, 1])),
    tensor('rng.state', 'uint8', [1000], odd.subarray(1)), // a view at an odd offset
  ];
}

describe('checkpoint writer thread', () => {
  it('writes the same files and manifest as the inline writer; metadata.json and rotation go through it too', async () => {
    const dirs: Record<string, string> = {};
    const manifests: Record<string, unknown> = {};
    for (const writer of ['worker', 'inline'] as const) {
      const runDir = newRun();
      const m = await CheckpointManager.open(runDir, { keep: { lastN: 1 } }, { ...quiet, writer });
      expect(m.writerMode).toBe(writer);
      const deleted: string[] = [];
      m.onDeleted((e) => deleted.push(e.name));
      await m.save('last', mixed(), st(3)).durable;
      const ev = await m.save('last', mixed(), st(4), { name: 'last-000000003' }).durable; // taken: gets -2
      await m.close();
      expect(ev.name).toBe('last-000000003-2');
      expect(deleted).toEqual(['last-000000003']);
      expect(await readdir(path.join(runDir, 'checkpoints'))).toEqual(['last-000000003-2']);
      expect((await readRunMetadata(runDir))?.checkpoints.map((c) => c.name)).toEqual(['last-000000003-2']);
      dirs[writer] = ev.dir;
      manifests[writer] = { ...ev.manifest, created: 'x' };
      expect(JSON.parse(await readFile(path.join(ev.dir, 'manifest.json'), 'utf8'))).toEqual(ev.manifest);
    }
    expect(manifests.worker).toEqual(manifests.inline);
    for (const f of ['tensors.safetensors', 'state.json']) {
      expect(Buffer.compare(await readFile(path.join(dirs.worker, f)), await readFile(path.join(dirs.inline, f))), f).toBe(0);
    }
    const l = await loadCheckpoint(dirs.worker);
    expect([...l.tensors.get('opt.step')!.data]).toEqual([1n, -2n, 3n ** 30n]);
    expect([...l.tensors.get('rng.state')!.data.subarray(0, 3)]).toEqual([7, 14, 21]);
  });

  it('transfer mode: the arrays move (detached in the caller after save()), the checkpoint has their values', async () => {
    for (const writer of ['worker', 'inline'] as const) {
      const m = await CheckpointManager.open(newRun(), { transfer: true }, { ...quiet, writer });
      const ts = mixed();
      const shared = tensor('param.s', 'float32', [4], new Float32Array(new SharedArrayBuffer(16)).fill(2));
      const h = m.save('last', [...ts, shared], st(1));
      expect(ts.map((t) => t.data.length), writer).toEqual([0, 0, 0, 0, 0]);
      expect(shared.data.length).toBe(4); // shared memory is not moved
      const l = await loadCheckpoint((await h.durable).dir);
      expect(l.tensors.get('param.w')!.data[1]).toBe(Math.fround(Math.sin(1)));
      expect(l.tensors.get('param.s')!.data[3]).toBe(2);
      await m.close();
    }
  });

  it('refuses the worker writer together with an injected fs', async () => {
    await expect(CheckpointManager.open(newRun(), {}, { ...quiet, writer: 'worker', fs: nodeFs })).rejects.toMatchObject({ code: 'BAD_OPTIONS' });
    const m = await CheckpointManager.open(newRun(), {}, { ...quiet, fs: nodeFs });
    expect(m.writerMode).toBe('inline');
    await m.close();
  });

  it('falls back to writing inline, with a warning, when the thread cannot run', async () => {
    const runDir = newRun();
    await mkdir(runDir);
    const target = new AtomicRenameTarget(path.join(runDir, 'checkpoints'));
    const warnings: string[] = [];
    const w = new ThreadWriter(target.root, () => new InlineWriter(target), (m) => warnings.push(m), 'src/checkpoint/no-such-thread.ts');
    await w.writeMetadata(runDir, { run: 'r', experiment: null, created: 'c', updated: 'u', checkpoints: [], best: null });
    expect(w.mode).toBe('inline');
    expect(warnings.join()).toMatch(/checkpoint writer thread (failed|exited).*writing checkpoints on the main thread/);
    const ev = await w.write({ base: 'last-1', taken: [], tensors: mixed(), state: parseTrainState(st(1)), meta: { kind: 'last' } });
    expect((await loadCheckpoint(ev.dir)).tensors.size).toBe(5);
    expect((await readRunMetadata(runDir))?.run).toBe('r');
    await w.close();
  });

  it('the thread commits a write while the calling thread stays blocked (one message, no turn of its event loop); inline, nothing advances', async () => {
    // A training step holds its thread in one synchronous call (like session.run()): this one ends
    // when the checkpoint is committed or after `capMs`, and returns whether it was committed.
    const blockedStepUntil = (done: () => boolean, capMs: number) => {
      const end = performance.now() + capMs;
      while (performance.now() < end) if (done()) return true;
      return false;
    };
    const runDir = newRun();
    await mkdir(runDir);
    const target = new AtomicRenameTarget(path.join(runDir, 'checkpoints'));
    const warnings: string[] = [];
    const w = new ThreadWriter(target.root, () => new InlineWriter(target), (m) => warnings.push(m));
    const job = (step: number): WriteJob => ({ base: `last-${step}`, taken: [], tensors: [tensor('param.a', 'float32', [2_000_000])], state: parseTrainState(st(step)), meta: { kind: 'last' } }); // 8 MB
    const committed = (step: number) => () => existsSync(path.join(target.root, `last-${step}`));
    await w.write(job(1)); // warm: the thread is up
    const onThread = w.write(job(2)); // posts the job, and returns
    expect(blockedStepUntil(committed(2), 60_000)).toBe(true); // the cap only bounds a failing run
    expect((await onThread).name).toBe('last-2');
    expect(w.mode).toBe('worker');
    expect(warnings).toEqual([]);
    const inline = new InlineWriter(target).write(job(3)); // each file operation waits for a turn of this thread's loop
    expect(blockedStepUntil(committed(3), 300)).toBe(false);
    expect((await inline).name).toBe('last-3');
    for (const step of [2, 3]) expect((await loadCheckpoint(path.join(target.root, `last-${step}`))).tensors.get('param.a')!.data.length).toBe(2_000_000);
    await w.close();
  });
});
