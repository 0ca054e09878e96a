// vitest setup (every test file): gradcheck's WebGPU comparisons are queued and run after the
// file's tests as one merged graph per execution provider (src/autodiff/device-check.ts).
import { afterAll, expect } from 'vitest';
import { batchDeviceChecks, flushDeviceChecks } from '../../src/autodiff/device-check.js';

batchDeviceChecks(() => expect.getState().currentTestName);
afterAll(async () => {
  await flushDeviceChecks();
}, 600_000);
