import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model.js';
import { probeWebGpu } from '../onnx/webgpu.js';
import { placementOf } from './placement.js';

const noAdapter = await probeWebGpu();

describe('placement report (ORT\'s "Node placements" log, from a child process)', () => {
  it.skipIf(!!noAdapter)('names the nodes a WebGPU session puts on the CPU EP', () => {
    const g = new Graph('x');
    const a = g.op('LogSoftmax', [g.input('x', 'float32', [2, 3])], { axis: 1 });
    g.output(g.op('Relu', [g.op('Sign', [a])]), 'y');
    const p = placementOf(encodeModel(g), { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } });
    expect(p.cpuNodes.sort()).toEqual(['LogSoftmax (logsoftmax_node)', 'Sign (sign_node)']);
    expect(p.counts.WebGpuExecutionProvider).toBeGreaterThanOrEqual(1);
  });
});
