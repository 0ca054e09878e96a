import { describe, expect, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('MatMul VJP', () => {
  it('2-D', async () => {
    const r = await gradcheck({ inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 5] }], build: (g, x) => g.op('MatMul', [x.a, x.b]) });
    expect(r.checked).toBe(32);
  });
  it('batched with broadcast batch dims', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 3, 4] }, { name: 'b', shape: [3, 4, 2] }], build: (g, x) => g.op('MatMul', [x.a, x.b]) });
  });
  it('matrix × vector and vector × matrix', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4] }], build: (g, x) => g.op('MatMul', [x.a, x.b]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [2, 4, 3] }], build: (g, x) => g.op('MatMul', [x.a, x.b]) });
  });
});
