// First upload after a run starts (not a test): the seconds from train() to its first durable
// checkpoint and to that checkpoint's "✓ Backed up", and how long the upload came after the
// checkpoint was durable. Reference, same process: the backup thread's own start-up (worker +
// modules + store open), which the first upload waited for when the backup started only after
// the data and engine set-up; it now starts beside them.
// Usage: node --import tsx bench/backup-start.ts [--reps 3]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startBackup } from '../src/backup/backup.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { train } from '../src/train/index.js';

const { values: a } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const work = await mkdtemp(path.join(tmpdir(), 'backup-start-'));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const runs: { durable: number; backedUp: number }[] = [];
const threadStart: number[] = [];
for (let rep = 0; rep < Number(a.reps); rep++) {
  const t0 = performance.now();
  const b = startBackup({ store: new LocalDirStore(path.join(work, `ref-drive-${rep}`)), runDir: path.join(work, `ref-run-${rep}`) });
  await b.flush(); // answered once the thread is up and its start-up reconcile is done
  threadStart.push(performance.now() - t0);
  await b.close();
  const t1 = performance.now();
  const at: { durable?: number; backedUp?: number } = {};
  await train({ model: 'glyph-tiny', data: { n: 2048, seed: 5 }, batchSize: 16, threads: 1, seed: 3, epochs: 1, lr: 0.05, out: path.join(work, `run-${rep}`), checkpoint: { saveSteps: 10 } }, {
    backup: { to: path.join(work, `drive-${rep}`) },
    onEvent: (e) => {
      if (e.type === 'checkpoint' && e.phase === 'durable') at.durable ??= performance.now() - t1;
      if (e.type === 'backup' && e.ok && e.message.startsWith('Backed up')) at.backedUp ??= performance.now() - t1;
    },
  });
  runs.push({ durable: at.durable ?? NaN, backedUp: at.backedUp ?? NaN });
}
console.log(`first backup after start (${runs.length} runs, glyph-tiny, a checkpoint every 10 steps, backup to a local folder):`);
console.log(`  train() -> first durable checkpoint: median ${s(median(runs.map((r) => r.durable)))}; -> its "Backed up": median ${s(median(runs.map((r) => r.backedUp)))}`);
console.log(`  upload came after the checkpoint was durable: median ${s(median(runs.map((r) => r.backedUp - r.durable)))}, max ${s(Math.max(...runs.map((r) => r.backedUp - r.durable)))}`);
console.log(`  reference, same process: backup thread start-up alone median ${s(median(threadStart))} (max ${s(Math.max(...threadStart))})`);
await rm(work, { recursive: true, force: true });
