import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('LayerNormalization VJP', () => {
  it('last axis with scale and bias (Mean/InvStdDev outputs reused)', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [3, 4, 5] }, { name: 's', shape: [5] }, { name: 'b', shape: [5] }],
      build: (g, v) => g.node('LayerNormalization', [v.x, v.s, v.b], { axis: -1, epsilon: 1e-5 })[0],
    });
  });
  it('two normalised axes, no bias, forward without the statistics outputs', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [2, 3, 4] }, { name: 's', shape: [3, 4] }],
      build: (g, v) => g.node('LayerNormalization', [v.x, v.s], { axis: 1 }, { outputs: 1 })[0],
    });
  });
});
