// Child process for the trainer kill/resume tests: trains from a JSON config (argv[2]) and prints
// `STEP <globalStep>` after every step, `DURABLE <kind> <globalStep>` per durable checkpoint and
// `DONE <reason>` at the end (exit code 130 when interrupted).
// DT_KILL_IN_WRITE=N: SIGKILL itself inside the N-th checkpoint write of this process (after
// tensors.safetensors, before state.json and manifest.json are written).
// DT_RENDER=1: also print the user-visible terminal lines (`Saved last (epoch N)`, …).
import fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { train } from '../../src/train/run.js';
import type { CkptFs } from '../../src/checkpoint/fsio.js';

// DT_STEP_SLEEP_MS: stretch each step (a synchronous sleep), so background checkpoint writes
// finish within a few steps and kills land at many different distances from a checkpoint.
const sleepMs = Number(process.env.DT_STEP_SLEEP_MS ?? 0);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const killIn = Number(process.env.DT_KILL_IN_WRITE ?? 0);
let writes = 0;
const killingFs: CkptFs = {
  ...fsp,
  open: (async (file: string, flags?: string | number, mode?: number) => {
    if (killIn && path.basename(String(file)) === 'state.json' && flags === 'w' && ++writes === killIn) {
      process.stdout.write(`KILLING IN WRITE ${file}\n`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => undefined);
    }
    return fsp.open(file, flags, mode);
  }) as CkptFs['open'],
};

const s = await train(cfg, {
  handleSignals: true,
  render: process.env.DT_RENDER === '1',
  checkpointDeps: killIn ? { fs: killingFs } : undefined,
  onEvent: (e) => {
    if (e.type === 'step') {
      if (sleepMs) Atomics.wait(sleeper, 0, 0, sleepMs);
      process.stdout.write(`STEP ${e.globalStep}\n`);
    }
    if (e.type === 'resume') process.stdout.write(`RESUME ${e.globalStep}\n`);
    if (e.type === 'checkpoint' && e.phase === 'durable') process.stdout.write(`DURABLE ${e.kind} ${e.globalStep}\n`);
    if (e.type === 'log' || e.type === 'error') process.stdout.write(`${e.message}\n`);
  },
});
process.stdout.write(`${s.message}\nDONE ${s.reason}\n`);
if (s.reason === 'interrupted') process.exitCode = 130;
