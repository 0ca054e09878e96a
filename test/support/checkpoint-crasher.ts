// Child process for test/checkpoint-crash.test.ts: resumes the run in argv[2] (if any checkpoint
// exists), then trains a fake model forever, saving every step. Prints `ready <step>` after
// resuming and `durable <step>` whenever a checkpoint becomes durable. The parent kill -9s it.
import { CheckpointManager, loadCheckpoint, selectResume } from '../../src/checkpoint/index.js';
import { tensor, type NamedTensor } from '../../src/tensor.js';

const runDir = process.argv[2];
const elements = Number(process.argv[3] ?? 16384);
const out = (line: string) => process.stdout.write(`${line}\n`);

/** Tensor contents are a pure function of the step, so the parent can check them. */
export function fill(ts: NamedTensor[], step: number): void {
  for (const [k, t] of ts.entries()) (t.data as Float32Array).fill(step * 4 + k); // exact in float32 up to step 4M
}

const mgr = await CheckpointManager.open(runDir, { save: { everyEpoch: true, everySteps: 1 }, keep: { lastN: 2, recoveryN: 2 } }, { warn: (m) => process.stderr.write(`${m}\n`) });
const ts = [tensor('param.a', 'float32', [elements]), tensor('param.b', 'float32', [elements >> 2]), tensor('opt.m.a', 'float32', [elements])];
let step = 0;
const choice = await selectResume(runDir, { warn: (m) => process.stderr.write(`${m}\n`) });
if (choice) {
  const l = await loadCheckpoint(choice.dir);
  step = l.state.globalStep;
  const a = l.tensors.get('param.a')!.data[5];
  if (a !== step * 4) throw new Error(`resumed tensor mismatch at step ${step}: ${a}`);
}
mgr.onDurable((e) => out(`durable ${e.globalStep}`));
out(`ready ${step}`);
const stepsPerEpoch = 7;
for (;;) {
  step++;
  fill(ts, step);
  const ev = { epoch: Math.ceil(step / stepsPerEpoch), stepInEpoch: step % stepsPerEpoch, globalStep: step, epochEnd: step % stepsPerEpoch === 0 };
  const d = mgr.shouldSave(ev) ?? { kind: 'recovery' as const };
  mgr.save(d, ts, { epoch: Math.floor(step / stepsPerEpoch), stepInEpoch: step % stepsPerEpoch, globalStep: step, sampler: { seed: 1, epoch: 0, position: step } });
  await new Promise((r) => setImmediate(r));
}
