// Exactness: a run killed with SIGKILL at ≥ 20 random steps (plus a graceful SIGTERM and a kill
// inside a checkpoint write) and resumed each time ends bitwise equal to an uninterrupted run:
// parameters, optimizer slots, RNG, step count, and every per-step loss along the way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffTensors, finalCheckpoint, runChild, stepLosses, writeConfig } from './support/trainer-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-kill-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// glyph-tiny on 320 glyphs: 35 steps per epoch × 3 epochs = 105 steps.
const base = {
  model: 'glyph-tiny', data: { name: 'glyphs', n: 320, valFraction: 0.125, seed: 3 }, epochs: 3, batchSize: 8,
  optimizer: 'sgd', lr: 0.05, lrGroups: { head: 0.1 }, momentum: 0.9, weightDecay: 0.001, seed: 11, threads: 1,
  schedule: { type: 'cosine', warmupSteps: 5 },
  checkpoint: { saveLast: true, saveSteps: 4, keepLast: 2, monitor: 'val_loss' },
};
const TOTAL = 105;

/** Kill points: seeded, spread over the run, sorted (each child resumes and runs past the last one). */
function killPoints(n: number, seed: number): number[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pts = new Set<number>();
  while (pts.size < n) pts.add(1 + Math.floor(rnd() * (TOTAL - 2)));
  return [...pts].sort((a, b) => a - b);
}

describe('kill -9 / resume exactness (CPU EP)', () => {
  it('ends bitwise equal to an uninterrupted run after 20 SIGKILLs, a SIGTERM and a kill inside a checkpoint write', async () => {
    const refDir = path.join(tmp, 'ref');
    const ref = await runChild(writeConfig(tmp, 'ref', { ...base, out: refDir }));
    expect(ref.out).toMatch(/DONE completed/);
    expect(ref.code).toBe(0);

    const runDir = path.join(tmp, 'killed');
    const cfgFile = writeConfig(tmp, 'killed', { ...base, out: runDir });
    const points = killPoints(20, 2024);
    const log: string[] = [];
    let resumes = 0;
    for (const [i, at] of points.entries()) {
      const r = await runChild(cfgFile, { killAt: at, env: { DT_STEP_SLEEP_MS: '4' } });
      const from = /RESUME (\d+)/.exec(r.out)?.[1];
      if (from) resumes++;
      log.push(`kill@${at}: resumed from ${from ?? '(fresh)'}, signal=${r.signal}, steps ${r.steps[0]}..${r.steps[r.steps.length - 1]}`);
      expect(r.signal, `${log.join('\n')}\n${r.out}`).toBe('SIGKILL');
      if (i === 9) {
        // graceful: SIGTERM finishes the step, saves, flushes and says how to resume
        const t = await runChild(cfgFile, { killAt: Math.min(TOTAL - 3, at + 3), sig: 'SIGTERM' });
        expect(t.out).toMatch(/Interrupted: saved epoch \d+, step \d+ \(global step \d+\).*Run the same command again to resume/);
        expect(t.code).toBe(130);
        const again = await runChild(cfgFile, { killAt: Math.min(TOTAL - 2, at + 4) });
        const resumedAt = Number(/RESUME (\d+)/.exec(again.out)?.[1]);
        const stoppedAt = Number(/global step (\d+)\)/.exec(t.out)?.[1]);
        expect(resumedAt).toBe(stoppedAt); // nothing lost on a graceful stop
      }
      if (i === 14) {
        // SIGKILL inside the 2nd checkpoint write of this process: tensors written, no manifest yet
        const w = await runChild(cfgFile, { env: { DT_KILL_IN_WRITE: '2' } });
        expect(w.out).toMatch(/KILLING IN WRITE/);
        expect(w.signal).toBe('SIGKILL');
      }
    }
    const fin = await runChild(cfgFile);
    expect(fin.out).toMatch(/DONE completed/);
    // early kills may land before the first checkpoint is durable (a fresh start is then correct)
    console.log(`trainer kill test: ${resumes} of ${points.length} SIGKILLed runs resumed from a checkpoint\n${log.join('\n')}`);
    expect(resumes, log.join('\n')).toBeGreaterThanOrEqual(5);

    const a = await finalCheckpoint(refDir);
    const b = await finalCheckpoint(runDir);
    expect(b.state.globalStep).toBe(TOTAL);
    expect(diffTensors(a.tensors, b.tensors)).toEqual([]);
    expect([...a.tensors.keys()].some((k) => k.startsWith('opt.'))).toBe(true);
    // the whole trajectory: every step's loss and every epoch's metrics
    expect(stepLosses(runDir)).toEqual(stepLosses(refDir));
    expect(b.state.metrics.map((m) => m.values)).toEqual(a.state.metrics.map((m) => m.values));
    expect(b.state.best).toEqual(a.state.best);
  }, 300_000); // 22 child runs: ~85 s quiet, past 120 s on a loaded machine

  it('early-stopping counters survive a resume: the resumed run stops at the same epoch', async () => {
    // minDelta so large that nothing after epoch 1 counts as an improvement: patience 2 → stop after epoch 3 of 6
    // 2100 training glyphs: 262 steps per epoch, so epoch 3 is still running when epoch 2's save is durable
    const es = { ...base, data: { ...base.data, n: 2400 }, epochs: 6, earlyStopping: { monitor: 'train_loss', minDelta: 100, patience: 2 }, checkpoint: { ...base.checkpoint, saveSteps: null } };
    const refDir = path.join(tmp, 'es-ref');
    const ref = await runChild(writeConfig(tmp, 'es-ref', { ...es, out: refDir }));
    expect(ref.out).toMatch(/Stopped early after epoch 3/);
    const runDir = path.join(tmp, 'es-killed');
    const cfgFile = writeConfig(tmp, 'es-killed', { ...es, out: runDir });
    const k = await runChild(cfgFile, { killOn: /^DURABLE last 524$/ }); // in epoch 3, once epoch 2's save is durable
    expect(k.signal).toBe('SIGKILL');
    const r = await runChild(cfgFile);
    expect(r.out).toMatch(/RESUME 524/);
    expect(r.out).toMatch(/Stopped early after epoch 3/);
    const a = await finalCheckpoint(refDir), b = await finalCheckpoint(runDir);
    expect(b.state.earlyStop).toEqual(a.state.earlyStop);
    expect(b.state.earlyStop?.stopped).toBe(true);
    expect(diffTensors(a.tensors, b.tensors)).toEqual([]);
    const again = await runChild(cfgFile);
    expect(again.out).toMatch(/already stopped early/);
  });
});
