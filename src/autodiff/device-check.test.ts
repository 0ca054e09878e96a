import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { probeWebGpu } from '../onnx/webgpu.js';
import { gradients } from './backward.js';
import { deviceCheck, flushDeviceChecks } from './device-check.js';
import type { DeviceJob } from './device-check.js';

const noAdapter = await probeWebGpu();

function job(rtol: number, scale = 1): DeviceJob {
  const g = new Graph('check');
  const x = g.input('x', 'float32', [2, 5]);
  const y = g.op('LogSoftmax', [g.op('Exp', [g.op('Mul', [x, g.constant(scale)])])], { axis: 1 });
  const L = g.op('ReduceSum', [g.op('Mul', [y, y])], { keepdims: 0 });
  g.output(L, 'L');
  g.output(gradients(g, L, [x]).get(x)!, 'dL_d_x');
  const data = Float32Array.from({ length: 10 }, (_, i) => Math.sin(i) * 2);
  return { label: 'Exp→LogSoftmax', graph: g, feeds: { x: { dtype: 'float32', shape: [2, 5], data } }, outputs: ['L', 'dL_d_x'], rtol };
}

describe.skipIf(!!noAdapter)('gradcheck on WebGPU (device-check)', () => {
  it('queues checks in test runs and runs them as one merged graph; a mismatch names the check', async () => {
    await flushDeviceChecks(); // this file's own earlier checks (none)
    expect(await deviceCheck(job(1e-4))).toBe('queued');
    expect(await deviceCheck(job(1e-4, 0.5))).toBe('queued');
    const r = await flushDeviceChecks();
    expect(r.checks).toBe(2);
    expect(r.maxRelErr).toBeLessThan(1e-4);
    expect(r.maxRelErr).toBeGreaterThan(0); // Exp/Log differ in the last bits between the EPs: the comparison is real
    await deviceCheck(job(0));
    await expect(flushDeviceChecks()).rejects.toThrow(/WebGPU differs from the CPU EP for (L|dL_d_x) in Exp→LogSoftmax \(test "gradcheck on WebGPU/);
  });
});
