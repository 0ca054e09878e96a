// Backup benchmark (not a test).
//  1. Bytes uploaded per epoch in a frozen-backbone stage, counted by the fake Drive v3 server
//     (real @googleapis/drive client + our resumable uploads), against (a) the bytes that
//     actually changed (tensors whose sha256 differs from the previous epoch + state.json +
//     manifest.json) — target uploaded <= changed + 1 % — and (b) a full copy of the checkpoint
//     folder per epoch (what `cp -r` to Drive does).
//  2. Wall time of a CPU-busy "training" loop that saves a checkpoint every epoch, with backup
//     on vs off, interleaved in the same run (target <= 1 % slower). Backup goes to a local
//     folder store (like a mounted Drive) so the fake server's own CPU is not counted.
// Usage: node --import tsx bench/backup.ts [--backbone-mb 40] [--head-mb 4] [--epochs 5] [--steps 60] [--reps 3]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { performance as nodePerf } from 'node:perf_hooks';
import { startBackup } from '../src/backup/backup.js';
import { CheckpointManager, type DurableEvent } from '../src/checkpoint/index.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { formatBytes } from '../src/storage/store.js';
import { tensor, type TensorMap } from '../src/tensor.js';
import { fakeDriveStore, startFakeDrive } from '../test/support/fake-drive-store.js';

const { values: a } = parseArgs({ options: {
  'backbone-mb': { type: 'string', default: '40' }, 'head-mb': { type: 'string', default: '4' },
  epochs: { type: 'string', default: '5' }, steps: { type: 'string', default: '60' }, reps: { type: 'string', default: '3' },
} });
const BACKBONE = Math.round((Number(a['backbone-mb']) * 1e6) / 4);
const HEAD = Math.round((Number(a['head-mb']) * 1e6) / 4);
const EPOCHS = Number(a.epochs);
const STEPS = Number(a.steps);
const REPS = Number(a.reps);
const work = await mkdtemp(path.join(tmpdir(), 'backup-bench-'));
const quiet = () => undefined;

/** A frozen backbone (4 tensors), a trained head with Adam m and v. */
function model(epoch: number): TensorMap {
  const m: TensorMap = new Map();
  const add = (name: string, n: number, f: (i: number) => number) => {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = f(i);
    m.set(name, tensor(name, 'float32', [n], d));
  };
  for (let k = 0; k < 4; k++) add(`param.backbone.block${k}.weight`, Math.floor(BACKBONE / 4), (i) => Math.sin(i * 1e-3 + k));
  add('param.head.weight', HEAD, (i) => Math.cos(i * 1e-2 + epoch));
  add('opt.m.head.weight', HEAD, (i) => epoch * 1e-3 + i * 1e-7);
  add('opt.v.head.weight', HEAD, (i) => epoch * 1e-6 + i * 1e-9);
  return m;
}

function changedBytes(prev: DurableEvent | null, cur: DurableEvent, manifestSize: number): number {
  let n = cur.manifest.files['state.json'].size + manifestSize;
  for (const [name, t] of Object.entries(cur.manifest.tensors)) {
    if (prev?.manifest.tensors[name]?.sha256 !== t.sha256) n += t.range[1] - t.range[0];
  }
  if (prev?.manifest.header.sha256 !== cur.manifest.header.sha256) n += cur.manifest.header.range[1];
  return n;
}

// ---- 1. bytes per epoch ----
const fake = await startFakeDrive();
const store = await fakeDriveStore(fake, { basePath: 'bench', chunkSize: 8 * 1024 * 1024, timeoutMs: 60_000 });
const runDir = path.join(work, 'bytes');
const mgr = await CheckpointManager.open(runDir, { keep: { lastN: 2 } }, { warn: quiet });
const backup = startBackup({ store, runDir, keep: { lastN: 2, recoveryN: 1 } });
let prev: DurableEvent | null = null;
console.log(`frozen-backbone stage: backbone ${formatBytes(BACKBONE * 4)}, head+Adam ${formatBytes(HEAD * 12)}, ${EPOCHS} epochs`);
console.log('epoch  uploaded      changed       full copy     uploaded/changed  uploaded/full');
const ratios: number[] = [];
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const ev = await mgr.save('last', model(epoch), { epoch, stepInEpoch: 0, globalStep: epoch * STEPS }).durable;
  fake.resetStats();
  backup.enqueue(ev);
  await backup.flush();
  const { size: manifestSize } = await import('node:fs').then((fs) => fs.statSync(path.join(ev.dir, 'manifest.json')));
  const full = Object.values(ev.manifest.files).reduce((s, f) => s + f.size, 0) + manifestSize;
  const changed = changedBytes(prev, ev, manifestSize);
  const up = fake.stats.uploadBytes;
  if (epoch > 1) ratios.push(up / changed);
  console.log(`${String(epoch).padEnd(6)} ${formatBytes(up).padEnd(13)} ${formatBytes(changed).padEnd(13)} ${formatBytes(full).padEnd(13)} ${(up / changed).toFixed(4).padEnd(17)} ${(up / full).toFixed(4)}`);
  prev = ev;
}
await mgr.close();
await fake.stop();
console.log(`epochs 2..${EPOCHS}: uploaded/changed max ${Math.max(...ratios).toFixed(4)} (target <= 1.01; includes latest.json and the store manifest)`);

// ---- 2. training time with backup on vs off ----
function busyStep(buf: Float32Array, w: Float32Array): number {
  let acc = 0;
  for (let r = 0; r < 64; r++) for (let i = 0; i < buf.length; i++) { buf[i] = buf[i] * 0.999 + w[i & 1023] * 1e-3; acc += buf[i]; }
  return acc;
}

async function train(withBackup: boolean, rep: number): Promise<number> {
  const dir = path.join(work, `time-${withBackup ? 'on' : 'off'}-${rep}`);
  const m = await CheckpointManager.open(dir, { keep: { lastN: 2 } }, { warn: quiet });
  const b = withBackup ? startBackup({ store: new LocalDirStore(path.join(work, `store-${rep}`)), runDir: dir, keep: { lastN: 2, recoveryN: 1 } }) : null;
  if (b) m.onDurable((e) => b.enqueue(e));
  await b?.flush(); // the backup thread is up: its start-up overlaps a real run's setup, not its steps
  const buf = new Float32Array(64 * 1024);
  const w = new Float32Array(1024).fill(0.5);
  const t0 = performance.now();
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    for (let s = 0; s < STEPS; s++) {
      busyStep(buf, w);
      await new Promise((r) => setImmediate(r)); // a trainer yields between steps
    }
    m.save('last', model(epoch), { epoch, stepInEpoch: 0, globalStep: epoch * STEPS });
  }
  await m.flush();
  const t = performance.now() - t0; // training time; the final backup flush happens after training
  await b?.close();
  await m.close();
  return t;
}

const off: number[] = [];
const on: number[] = [];
await train(false, -1); // warm-up
for (let r = 0; r < REPS; r++) {
  off.push(await train(false, r));
  on.push(await train(true, r));
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`\ntraining loop, ${EPOCHS} epochs x ${STEPS} busy steps, checkpoint every epoch, ${REPS} interleaved reps`);
console.log(`backup off: median ${(med(off) / 1000).toFixed(2)} s  [${off.map((x) => (x / 1000).toFixed(2)).join(', ')}]`);
console.log(`backup on:  median ${(med(on) / 1000).toFixed(2)} s  [${on.map((x) => (x / 1000).toFixed(2)).join(', ')}]`);
console.log(`on/off ratio: median ${(med(on) / med(off)).toFixed(4)}, best-of ${(Math.min(...on) / Math.min(...off)).toFixed(4)} (target <= 1.01; wall time on a shared machine is noisy)`);

// ---- 3. event-loop time backup takes per epoch (less noisy than wall time) ----
{
  const dir = path.join(work, 'elu');
  const m = await CheckpointManager.open(dir, { keep: { lastN: 2 } }, { warn: quiet });
  const b = startBackup({ store: new LocalDirStore(path.join(work, 'store-elu')), runDir: dir, keep: { lastN: 2, recoveryN: 1 } });
  const busy: number[] = [];
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    const ev = await m.save('last', model(epoch), { epoch, stepInEpoch: 0, globalStep: epoch * STEPS }).durable;
    const e0 = nodePerf.eventLoopUtilization();
    b.enqueue(ev);
    await b.flush();
    if (epoch > 1) busy.push(nodePerf.eventLoopUtilization(e0).active);
  }
  await b.close();
  await m.close();
  const epochMs = med(off) / EPOCHS;
  console.log(`event-loop time used by backup per epoch (epochs 2..${EPOCHS}): median ${med(busy).toFixed(1)} ms = ${((100 * med(busy)) / epochMs).toFixed(2)} % of a ${epochMs.toFixed(0)} ms epoch here`);
}
await rm(work, { recursive: true, force: true });
