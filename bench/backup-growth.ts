// Bytes uploaded per checkpoint as a run grows (not a test; synthetic run, real checkpoint and
// backup code): at epoch 10 and at epoch 1,000, a checkpoint with ~202 kB of tensors that all
// change, its state.json as the trainer writes it (stateHistory: the first epoch + the last 3),
// and the run's metrics log (10 step lines + 1 epoch line per epoch) uploaded incrementally —
// against the same run with the whole per-epoch history in every state.json (the old layout,
// no log upload), measured in the same process.
// Usage: node --import tsx bench/backup-growth.ts [--steps-per-epoch 10]
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LOG_FILE } from '../src/backup/log-backup.js';
import { RunPublisher } from '../src/backup/publish.js';
import { planCheckpoint } from '../src/backup/segments.js';
import { CheckpointManager } from '../src/checkpoint/index.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { formatBytes } from '../src/storage/store.js';
import { tensor } from '../src/tensor.js';
import { stateHistory } from '../src/train/resume-state.js';

const { values: a } = parseArgs({ options: { 'steps-per-epoch': { type: 'string', default: '10' } } });
const STEPS = Number(a['steps-per-epoch']);
const work = await mkdtemp(path.join(tmpdir(), 'backup-growth-'));
const metricNames = ['train_loss', 'cls_loss', 'box_loss', 'acc', 'box_iou', 'val_loss', 'val_cls_loss', 'val_box_loss', 'val_acc', 'val_box_iou'];
const values = (e: number) => Object.fromEntries(metricNames.map((k, i) => [k, 1 / (e + 2 + i) + Math.sin(e * (i + 1)) * 1e-3]));
const history = (upTo: number) => Array.from({ length: upTo }, (_, e) => ({ epoch: e, globalStep: (e + 1) * STEPS, values: values(e), time: new Date(Date.UTC(2026, 11, 1) + e * 60_000).toISOString() }));

/** One layout's run: a manager + a publisher; returns bytes uploaded for the checkpoint at `epoch`. */
async function layout(name: 'bounded' | 'full') {
  const runDir = path.join(work, name);
  const manager = await CheckpointManager.open(runDir, { keep: { lastN: 2 } }, { writer: 'inline', warn: () => {} });
  const publisher = new RunPublisher(new LocalDirStore(path.join(work, `drive-${name}`)), name, { lastN: 2, recoveryN: 1 });
  let logged = 0;
  const log = async (upTo: number) => {
    let text = '';
    for (let e = logged; e < upTo; e++) {
      for (let s = 1; s <= STEPS; s++) text += `${JSON.stringify({ type: 'step', epoch: e, globalStep: e * STEPS + s, time: '2026-12-01T00:00:00.000Z', loss: 1 / (e * STEPS + s) })}\n`;
      text += `${JSON.stringify({ type: 'epoch', epoch: e, globalStep: (e + 1) * STEPS, time: '2026-12-01T00:00:00.000Z', ...values(e) })}\n`;
    }
    await appendFile(path.join(runDir, LOG_FILE), text);
    logged = upTo;
  };
  const checkpoint = async (epoch: number) => {
    await log(epoch);
    const h = history(epoch);
    const data = Float32Array.from({ length: 50_500 }, (_, i) => Math.sin(i + epoch)); // ~202 kB, all changed
    const ev = await manager.save('last', new Map([['param.w', tensor('param.w', 'float32', [data.length], data)]]), { epoch, stepInEpoch: 0, globalStep: epoch * STEPS, metrics: name === 'full' ? h : stateHistory(h) }).durable;
    const { manifest, files } = await planCheckpoint(ev.dir);
    const r = await publisher.publish({ name: ev.name, type: 'checkpoint', relDir: `checkpoints/${ev.name}`, kind: 'last', epoch, stepInEpoch: 0, globalStep: manifest.globalStep, metrics: manifest.metrics, created: manifest.created }, files);
    const lg = name === 'bounded' ? await publisher.publishLog(path.join(runDir, LOG_FILE)) : { newBytes: 0 };
    return { uploaded: r.newBytes + lg.newBytes, state: files.find((f) => f.path === 'state.json')!.size, log: lg.newBytes };
  };
  return { checkpoint, close: () => manager.close() };
}

const rows: string[] = [];
const at: Record<string, Record<number, number>> = { bounded: {}, full: {} };
const epochs = [...Array.from({ length: 10 }, (_, i) => i + 1), ...Array.from({ length: 11 }, (_, i) => i + 990)];
for (const name of ['bounded', 'full'] as const) {
  const l = await layout(name);
  const window: number[] = [];
  for (const e of epochs) {
    const r = await l.checkpoint(e);
    if (e > 990) window.push(r.uploaded);
    if (e === 10 || e === 1000) {
      at[name][e] = r.uploaded;
      const mean = e === 1000 ? `; mean of epochs 991-1000 ${formatBytes(Math.round(window.reduce((x, y) => x + y, 0) / window.length))}` : '';
      rows.push(`  ${name === 'bounded' ? 'now (state ends + log)' : 'old (full history)    '} epoch ${String(e).padStart(4)}: ${formatBytes(r.uploaded)} uploaded (state.json ${formatBytes(r.state)}${name === 'bounded' ? `, log ${formatBytes(r.log)}` : ''}${mean})`);
    }
  }
  await l.close();
}
console.log(`bytes uploaded per checkpoint (~202 kB of changed tensors, ${STEPS} steps per epoch):\n${rows.join('\n')}`);
console.log(`  growth epoch 10 -> 1,000: now ${(at.bounded[1000] / at.bounded[10]).toFixed(2)}x, old ${(at.full[1000] / at.full[10]).toFixed(2)}x; at epoch 1,000 now/old ${(at.bounded[1000] / at.full[1000]).toFixed(2)}x`);
await rm(work, { recursive: true, force: true });
