// The trainer on WebGPU, as users run it, on any WebGPU adapter (CI: the software adapter):
// the glyph runbook stage after stage (a few steps each), a run killed with SIGKILL and resumed
// on WebGPU, and a run moved between WebGPU and the CPU (the hosted-notebook case where the GPU
// quota runs out) — each continuing at the exact step with the same data order and RNG.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeWebGpu, webGpuMissing } from '../src/engine/index.js';
import { parseRunbook } from '../src/train/config.js';
import type { TrainConfigInput } from '../src/train/config.js';
import type { TrainEvent } from '../src/train/events.js';
import { eventLine } from '../src/train/progress.js';
import { runRunbook } from '../src/train/runbook.js';
import { train } from '../src/train/run.js';
import type { TensorMap } from '../src/tensor.js';
import { finalCheckpoint, runChild, stepLosses, writeConfig } from './support/trainer-runs.js';

const noAdapter = await probeWebGpu();
if (noAdapter) console.log(`WebGPU trainer tests skipped — ${webGpuMissing(noAdapter)}`);
const gpuIt = (name: string, fn: () => Promise<void>, timeout = 300_000) => it.skipIf(!!noAdapter)(name, fn, timeout);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-gpu-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function relDiff(a: TensorMap, b: TensorMap): number {
  let worst = 0;
  for (const [k, t] of a) {
    if (t.dtype !== 'float32') continue;
    const x = t.data as Float32Array, y = b.get(k)!.data as Float32Array;
    let scale = 1e-12, d = 0;
    for (let i = 0; i < x.length; i++) { scale = Math.max(scale, Math.abs(x[i])); d = Math.max(d, Math.abs(x[i] - y[i])); }
    worst = Math.max(worst, d / scale);
  }
  return worst;
}

// glyph-tiny on 80 glyphs (64 train, 16 val), batch 8: 8 steps in one epoch; a recovery checkpoint every 3 steps.
const tiny: TrainConfigInput = {
  model: 'glyph-tiny', data: { name: 'glyphs', n: 80, valFraction: 0.2, seed: 4 }, batchSize: 8,
  optimizer: 'adamw', momentum: 0.9, seed: 3, threads: 1,
  checkpoint: { saveLast: true, saveSteps: 3, keepLast: 2, monitor: 'val_loss' },
  epochs: 1, lr: 0.01,
} as TrainConfigInput;

describe('trainer on WebGPU', () => {
  gpuIt('the glyph runbook, stage after stage (frozen backbone, per-group learning rates), a few steps each', async () => {
    const base = JSON.parse(fs.readFileSync('runbooks/glyphs.json', 'utf8'));
    const rb = parseRunbook({
      ...base, out: path.join(tmp, 'runbook'),
      defaults: { ...base.defaults, device: 'webgpu', batchSize: 8, data: { ...base.defaults.data, n: 40, valFraction: 0.2 }, checkpoint: { ...base.defaults.checkpoint, saveSteps: null } },
      stages: base.stages.map((s: Record<string, unknown>) => ({ ...s, epochs: 1 })),
    });
    const events: TrainEvent[] = [];
    const stages = await runRunbook(rb, { onEvent: (e) => events.push(e) });
    expect(stages.map((s) => s.reason)).toEqual(['completed', 'completed', 'completed', 'completed']);
    for (const s of stages) expect(Number.isFinite(s.last!.val_loss)).toBe(true);
    expect(stages.slice(1).every((s, i) => s.initFrom && s.initFrom.includes(path.basename(stages[i].out)))).toBe(true);
    const final = await finalCheckpoint(stages[3].out);
    expect(final.state.extra.device).toBe('webgpu');
  });

  gpuIt('SIGKILL and resume on WebGPU: the resumed run ends within 1e-6 relative of an uninterrupted one, every step loss matching', async () => {
    const ref = await train({ ...tiny, device: 'webgpu', out: path.join(tmp, 'ref') }); // uninterrupted, in this process
    expect(ref.reason).toBe('completed');
    const cfg = writeConfig(tmp, 'killed', { ...tiny, device: 'webgpu', out: path.join(tmp, 'killed') });
    const killed = await runChild(cfg, { killOn: /^DURABLE recovery 3$/, env: { DT_STEP_SLEEP_MS: '150' } }); // slow steps: the kill lands mid-epoch
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect(Math.max(...killed.steps)).toBeLessThan(8);
    const events: TrainEvent[] = [];
    const resumed = await train(JSON.parse(fs.readFileSync(cfg, 'utf8')), { onEvent: (e) => events.push(e) }); // resumes here, in this process
    const from = (events.find((e) => e.type === 'resume') as { globalStep: number } | undefined)?.globalStep ?? -1;
    expect(from, killed.out).toBeGreaterThanOrEqual(3); // the newest durable checkpoint when the kill landed
    expect((events.find((e) => e.type === 'step') as { globalStep: number }).globalStep).toBe(from + 1);
    expect(resumed.reason).toBe('completed');
    const [a, b] = [await finalCheckpoint(path.join(tmp, 'ref')), await finalCheckpoint(path.join(tmp, 'killed'))];
    expect(b.state.globalStep).toBe(8);
    expect(relDiff(a.tensors, b.tensors)).toBeLessThanOrEqual(1e-6);
    const [la, lb] = [stepLosses(path.join(tmp, 'ref')), stepLosses(path.join(tmp, 'killed'))];
    for (const [step, loss] of la) expect(Math.abs(lb.get(step)! - loss), `step ${step}`).toBeLessThanOrEqual(1e-6 * Math.abs(loss));
  });

  gpuIt('a run checkpointed on WebGPU continues on the CPU and one from the CPU on WebGPU, at the exact step, saying where it moved', async () => {
    for (const [from, to] of [['webgpu', 'cpu'], ['cpu', 'webgpu']] as const) {
      const out = path.join(tmp, `moved-${from}`);
      const stop = new AbortController();
      const first = await train({ ...tiny, device: from, out }, { signal: stop.signal, onEvent: (e) => { if (e.type === 'step' && e.globalStep === 3) stop.abort(); } });
      expect(first.reason).toBe('interrupted');
      expect(first.globalStep).toBe(3);
      const events: TrainEvent[] = [];
      const second = await train({ ...tiny, device: to, out }, { onEvent: (e) => events.push(e) });
      const resume = events.find((e) => e.type === 'resume')!;
      expect(resume).toMatchObject({ globalStep: 3, stepInEpoch: 3, moved: { from, to } });
      expect(eventLine(resume)).toMatch(new RegExp(`Resuming from epoch 1, step 3 \\(global step 3\\) — moved from ${from} to ${to}`));
      expect(events.filter((e) => e.type === 'step').map((e) => (e as { globalStep: number }).globalStep)[0]).toBe(4);
      expect(second.reason).toBe('completed');
      expect(second.globalStep).toBe(8);
    }
  });
});
