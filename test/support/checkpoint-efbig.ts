// Child for test/checkpoint-writer-fail.test.ts, started under `ulimit -f` (file size limit):
// a small checkpoint fits, a large one fails mid-write on the writer thread with EFBIG. Prints
// one JSON line with what the manager reported and what is left on disk.
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { CheckpointManager, verifyCheckpoint } from '../../src/checkpoint/index.js';
import { tensor } from '../../src/tensor.js';

const runDir = process.argv[2];
const st = (s: number) => ({ epoch: 0, stepInEpoch: s, globalStep: s });
const small = () => [tensor('param.a', 'float32', [4096], new Float32Array(4096).fill(1))];
const m = await CheckpointManager.open(runDir, { keep: { lastN: 1 } }, { warn: (w) => process.stderr.write(`${w}\n`) });
const first = await m.save('last', small(), st(1)).durable;
const big = m.save('last', [tensor('param.a', 'float32', [1 << 20])], st(2)); // 4 MiB > limit
const durable = await big.durable.then(() => null, (e: Error & { code?: string }) => ({ code: e.code, cause: (e.cause as NodeJS.ErrnoException)?.code, message: e.message }));
const flush = await m.flush().then(() => null, (e: Error & { code?: string }) => ({ code: e.code }));
const left = (await readdir(path.join(runDir, 'checkpoints'))).sort();
const verified = await verifyCheckpoint(first.dir).then(() => true, (e: Error) => e.message);
const again = (await m.save('last', small(), st(3)).durable).name;
await m.close();
process.stdout.write(`${JSON.stringify({ mode: m.writerMode, durable, flush, left, verified, again })}\n`);
