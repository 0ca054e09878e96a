import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('LogSoftmax VJP', () => {
  for (const axis of [undefined, 0, 1, -2]) {
    it(`axis ${axis ?? 'default'}`, async () => {
      await gradcheck({
        inputs: [{ name: 'a', shape: [3, 4, 5], range: [-2, 2] }],
        build: (g, x) => g.op('LogSoftmax', [x.a], axis === undefined ? {} : { axis }),
        maxElements: 30,
      });
    });
  }
});
