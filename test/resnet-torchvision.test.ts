// drivetrain's resnet18/resnet34 against torchvision's (Debian python3-torchvision): the same
// state_dict names and shapes, and a torchvision resnet18 state_dict (random weights, non-trivial
// BatchNorm statistics) loaded strictly by name gives torchvision's logits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../src/engine/index.js';
import { resnet18, resnet34 } from '../src/nn/index.js';
import { toStateDict } from '../src/engine/state-dict.js';
import { torchMissing, torchRef } from './support/torch.js';

const missing = torchMissing();
if (missing) console.warn(`SKIP torchvision comparison: ${missing}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-tv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const shapes = (m: ReturnType<typeof resnet18>) => {
  const out: Record<string, number[]> = {};
  for (const p of m.parameters()) out[p.name] = p.shape;
  for (const b of m.buffers()) out[b.name] = b.shape;
  return out;
};
const withoutTracked = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.endsWith('num_batches_tracked')));

describe.skipIf(missing !== null)('ResNet vs torchvision', () => {
  it('resnet18/34 have torchvision\'s state_dict names and shapes; torchvision weights load strictly and give its logits', async () => {
    torchRef(['torchvision', tmp, '--size', '32', '--classes', '10', '--seed', '3']);
    const ref = JSON.parse(fs.readFileSync(path.join(tmp, 'logits.json'), 'utf8')) as { logits: number[]; resnet18: Record<string, number[]>; resnet34: Record<string, number[]> };
    const m18 = resnet18({ numClasses: 10 });
    expect(shapes(m18)).toEqual(withoutTracked(ref.resnet18));
    expect(shapes(resnet34({ numClasses: 1000 }))).toEqual(withoutTracked(ref.resnet34));
    // our export adds num_batches_tracked exactly where torchvision has it
    const sd = toStateDict([...m18.parameters().map((p) => ({ name: `param.${p.name}`, dtype: p.dtype, shape: p.shape, data: new Float32Array(0) })), ...m18.buffers().map((b) => ({ name: `buffer.${b.name}`, dtype: b.dtype, shape: b.shape, data: new Float32Array(0) }))]);
    expect(sd.map((t) => t.name).sort()).toEqual(Object.keys(ref.resnet18).sort());

    const e = await InferenceEngine.create({ model: m18, inputs: { x: { shape: [3, 32, 32] } }, threads: 1 });
    try {
      const logs: string[] = [];
      const r = await e.loadWeights(path.join(tmp, 'resnet18.safetensors'), { strict: true, log: (l) => logs.push(l) });
      expect(r.matched.length).toBe(Object.keys(withoutTracked(ref.resnet18)).length);
      expect(r.ignored.filter((n) => n.endsWith('num_batches_tracked')).length).toBe(20);
      const x = new Float32Array(fs.readFileSync(path.join(tmp, 'input.f32')).buffer.slice(0));
      const out = await e.predict({ x: { dtype: 'float32', shape: [1, 3, 32, 32], data: x } });
      const got = Array.from(out.output.data as Float32Array);
      const diff = Math.max(...got.map((v, i) => Math.abs(v - ref.logits[i])));
      const scale = Math.max(...ref.logits.map(Math.abs));
      console.log(`resnet18 logits vs torchvision ${'1.13'}: max |diff| ${diff.toExponential(2)} (largest |logit| ${scale.toFixed(3)})`);
      expect(diff).toBeLessThan(1e-4 * Math.max(1, scale));
    } finally {
      await e.release();
    }
  });
});
