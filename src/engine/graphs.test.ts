import { describe, expect, it } from 'vitest';
import { Conv2d, crossEntropy, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/index.js';
import type { Graph } from '../onnx/graph.js';
import { AdamW } from '../optim/index.js';
import { buildEvalGraph, buildTrainGraph, planState } from './graphs.js';

/** Nodes none of whose outputs is read by another node or is a graph output. */
function deadNodes(g: Graph): string[] {
  const read = new Set([...g.outputs, ...g.nodes.flatMap((n) => n.inputs)]);
  return g.nodes.filter((n) => !n.outputs.some((o) => read.has(o))).map((n) => `${n.op} ${n.name}`);
}

describe('engine graphs', () => {
  it('train and eval graphs carry no dead nodes or unused initializers (dropout mask)', () => {
    const spec = {
      model: new Sequential({ fc: new Linear(6, 8), act: new ReLU(), drop: new Dropout(0.3), head: new Linear(8, 3) }),
      loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }),
      inputs: { x: { shape: [6] }, y: { shape: [], dtype: 'int64' as const } },
    };
    const plan = planState(spec);
    for (const g of [buildTrainGraph(spec, plan, 4).graph, buildEvalGraph(spec, plan, 4, { withLoss: true }).graph]) {
      expect(deadNodes(g), g.name).toEqual([]);
      const read = new Set(g.nodes.flatMap((n) => n.inputs));
      expect([...g.initializers.keys()].filter((k) => !read.has(k) && !g.outputs.includes(k)), g.name).toEqual([]);
    }
  });

  it("a frozen MaxPool's Indices output is not computed; a trained one's is (its VJP reads it)", () => {
    const spec = {
      model: new Sequential({ c1: new Conv2d(1, 2, 3, { padding: 1 }), p1: new MaxPool2d(2), c2: new Conv2d(2, 2, 3, { padding: 1 }), p2: new MaxPool2d(2), flat: new Flatten(), fc: new Linear(8, 3) }),
      loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }), frozen: ['c1.*', 'c2.*'],
      inputs: { x: { shape: [1, 8, 8] }, y: { shape: [], dtype: 'int64' as const } },
    };
    const outputsOf = (frozen?: string[]) => buildTrainGraph({ ...spec, frozen }, planState({ ...spec, frozen }), 4).graph.nodes.filter((n) => n.op === 'MaxPool').map((n) => n.outputs.length);
    expect(outputsOf(['c1.*', 'c2.*'])).toEqual([1, 1]);
    expect(outputsOf(['c1.*'])).toEqual([1, 2]); // gradients reach c2 through p2 only
    expect(outputsOf(undefined)).toEqual([2, 2]);
  });
});
