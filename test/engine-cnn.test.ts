// Acceptance: a small CNN (conv-bn-relu-pool ×2 + linear) trains on the synthetic glyph set;
// BatchNorm running statistics are state (`buffer.…`) and eval uses them. The glyph CNN's CPU
// step is bitwise deterministic within and across processes.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { glyphDataset } from '../src/data/index.js';
import { Engine } from '../src/engine/index.js';
import { BatchNorm2d, Conv2d, crossEntropy, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/nn/index.js';
import { AdamW } from '../src/optim/index.js';
import { glyphStateHash } from './support/glyph-state-hash.js';

const B = 32;
const train = glyphDataset({ n: 2048, seed: 1 });
const held = glyphDataset({ n: 256, seed: 2 });

function block(cin: number, cout: number) {
  return new Sequential({ conv: new Conv2d(cin, cout, 3, { padding: 1, bias: false }), bn: new BatchNorm2d(cout), act: new ReLU(), pool: new MaxPool2d(2) });
}

async function cnn(seed = 0, dropout = 0) {
  const model = new Sequential({
    block1: block(1, 8), block2: block(8, 16), flat: new Flatten(),
    ...(dropout ? { drop: new Dropout(dropout) } : {}), head: new Linear(16 * 8 * 8, 12),
  });
  return Engine.create({
    model, loss: crossEntropy({ target: 'label' }), optimizer: new AdamW({ lr: 3e-3, weightDecay: 1e-4 }), batchSize: B,
    inputs: { image: { shape: [1, 32, 32] }, label: { shape: [], dtype: 'int64' } }, threads: 2, seed,
  });
}

const batchAt = async (ds: typeof train, k: number) => {
  const b = await ds.getBatch(Array.from({ length: B }, (_, i) => (k * B + i) % ds.length));
  return { image: b.image, label: b.label };
};

describe('engine: small CNN', () => {
  it('conv-bn-relu-pool ×2 + linear: mean loss of steps 230-249 < 0.3 and held-out accuracy >= 0.85 in 250 steps (measured 0.08 / 0.945)', async () => {
    const e = await cnn();
    const t0 = performance.now();
    const first = await e.step(await batchAt(train, 0));
    let recent = 0;
    for (let s = 1; s < 250; s++) {
      const m = await e.step(await batchAt(train, s));
      if (s >= 230) recent += m.loss / 20;
    }
    const ms = (performance.now() - t0) / 250;
    let acc = 0;
    for (let k = 0; k < 8; k++) acc += (await e.evaluate(await batchAt(held, k))).accuracy / 8;
    console.log(`CNN: first loss ${first.loss.toFixed(3)}, mean of last 20 ${recent.toFixed(3)}, held-out accuracy ${acc.toFixed(3)}, ${ms.toFixed(1)} ms/step`);
    expect(first.loss).toBeGreaterThan(2);
    expect(recent).toBeLessThan(0.3);
    expect(acc).toBeGreaterThanOrEqual(0.85);
    const st = await e.getState();
    const rv = st.get('buffer.block1.bn.running_var')!.data as Float32Array;
    expect(Array.from(rv).some((v) => v !== 1)).toBe(true); // running statistics were updated
    await e.release();
  });

  it('with dropout: same seed → bitwise identical state (params, BN buffers, RNG) after 20 steps', async () => {
    const states = [];
    for (let r = 0; r < 2; r++) {
      const e = await cnn(4, 0.3);
      for (let s = 0; s < 20; s++) await e.step(await batchAt(train, s));
      states.push(await e.getState());
      await e.release();
    }
    const [a, b] = states;
    expect([...a.keys()].filter((k) => k.startsWith('rng.') || k.startsWith('buffer.')).sort()).toEqual([
      'buffer.block1.bn.running_mean', 'buffer.block1.bn.running_var', 'buffer.block2.bn.running_mean', 'buffer.block2.bn.running_var', 'rng.drop.state']);
    expect(Array.from(a.get('rng.drop.state')!.data as BigInt64Array)[1]).toBe(20n);
    for (const [k, t] of a) expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.get(k)!.data.buffer, b.get(k)!.data.byteOffset, b.get(k)!.data.byteLength)), k).toBe(true);
  });
});

describe('engine: glyph CNN on the CPU is bitwise deterministic', () => {
  it('same inputs → the same state bits in this process and in another one', async () => {
    const script = fileURLToPath(new URL('./support/glyph-state-hash.ts', import.meta.url));
    const child = new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', script, '2'], { timeout: 60_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out.trim())));
    });
    const here = await glyphStateHash(2);
    expect(here).toMatch(/^[0-9a-f]{64}$/);
    expect(await child).toBe(here);
  }, 60_000);
});
