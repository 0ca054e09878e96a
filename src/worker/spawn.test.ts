import { describe, expect, it } from 'vitest';
import { startModuleWorker } from './spawn.js';

describe('startModuleWorker', () => {
  it('runs a TypeScript module in a worker and talks to it', async () => {
    const w = startModuleWorker('src/worker/echo.fixture.ts', { workerData: { factor: 3 } });
    try {
      const reply = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.postMessage([1, 2]);
      });
      expect(reply).toEqual([3, 6]);
    } finally {
      await w.terminate();
    }
  });
});
