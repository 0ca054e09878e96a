import { describe, expect, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Add VJP', () => {
  it('matches finite differences with broadcasting', async () => {
    const r = await gradcheck({
      inputs: [{ name: 'a', shape: [3, 1, 4] }, { name: 'b', shape: [5, 1] }],
      build: (g, x) => g.op('Add', [x.a, x.b]),
    });
    expect(r.checked).toBeGreaterThan(10);
  });
});
