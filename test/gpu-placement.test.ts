// Zero CPU fallback on WebGPU: the train, eval and predict graphs of every built-in model, of
// every src/nn module and loss, with both optimizers, are created on the WebGPU EP with
// `session.disable_cpu_ep_fallback = 1` (creation fails if any node would run on the CPU EP).
// Sessions are only created, not run (lavapipe compiles shaders at the first run; the numerics
// are tested in gpu-webgpu.test.ts and the lowering tests).
import { describe, expect, it } from 'vitest';
import { Engine, probeWebGpu, webGpuMissing } from '../src/engine/index.js';
import type { EngineOptions } from '../src/engine/index.js';
import {
  AvgPool2d, BatchNorm2d, bceWithLogits, combineLosses, Conv2d, crossEntropy, Dropout, Embedding, Flatten, GELU, GlobalAvgPool,
  huber, LayerNorm, LeakyReLU, Linear, MaxPool2d, Module, mse, ReLU, Sequential, Sigmoid, smoothL1, Tanh,
} from '../src/nn/index.js';
import type { ForwardContext } from '../src/nn/index.js';
import type { Graph } from '../src/onnx/graph.js';
import { AdamW, SGD } from '../src/optim/index.js';
import { createModel, MODELS } from '../src/train/models.js';

const noAdapter = await probeWebGpu();
if (noAdapter) console.log(`WebGPU placement tests skipped — ${webGpuMissing(noAdapter)}`);
const gpuIt = (name: string, fn: () => Promise<void>) => it.skipIf(!!noAdapter)(name, fn, 120_000);

async function placed(opts: Omit<EngineOptions, 'device' | 'noCpuFallback'>): Promise<void> {
  const e = await Engine.create({ ...opts, device: 'webgpu', noCpuFallback: true, log: () => {} });
  try {
    await e.prepare();
    expect(e.device).toBe('webgpu');
  } finally {
    await e.release();
  }
}

/** A CNN with every image module: strided/dilated/grouped Conv, BatchNorm, pools, activations. */
class ImageNet extends Module<string, Record<string, string>> {
  body = this.add('body', new Sequential({
    c1: new Conv2d(1, 8, 3, { padding: 1 }), bn: new BatchNorm2d(8), a1: new LeakyReLU(0.1), p1: new MaxPool2d(3, { stride: 2, padding: 1 }),
    c2: new Conv2d(8, 8, 3, { padding: 2, dilation: 2, groups: 2 }), a2: new Tanh(), p2: new AvgPool2d(2),
    c3: new Conv2d(8, 16, 3, { stride: 2, padding: 1, bias: false }), a3: new ReLU(), p3: new MaxPool2d(2), gap: new GlobalAvgPool(true),
  }));
  gate = this.add('gate', new Sequential({ fc: new Linear(16, 16), sig: new Sigmoid(), drop: new Dropout(0.2) }));
  cls = this.add('cls', new Linear(16, 5));
  reg = this.add('reg', new Linear(16, 4));
  forward(g: Graph, x: string, ctx: ForwardContext) {
    const h = this.body.forward(g, x, ctx);
    const z = g.op('Mul', [h, this.gate.forward(g, h, ctx)]);
    return { cls: this.cls.forward(g, z, ctx), reg: this.reg.forward(g, z, ctx) };
  }
}

describe('WebGPU: no node on the CPU EP (disable_cpu_ep_fallback)', () => {
  // resnet34 and resnet are resnet18's modules in other counts (10 s and 6 s more on lavapipe)
  for (const name of Object.keys(MODELS).filter((n) => n !== 'resnet34' && n !== 'resnet')) {
    gpuIt(`built-in model "${name}": train, eval and predict graphs, fed by batch and by index (resident data)`, async () => {
      const size = name === 'mnist' ? 28 : 32;
      const spec = createModel(name, { size, classes: 12 });
      const inputs: EngineOptions['inputs'] = { image: { shape: [1, size, size] }, label: { shape: [], dtype: 'int64' } };
      if (spec.loss.targets.includes('box')) inputs.box = { shape: [4] };
      const N = 16;
      const data = { tensors: Object.fromEntries(Object.entries(inputs).map(([k, v]) => {
        const n = N * v.shape.reduce((a, b) => a * b, 1);
        return [k, k === 'image' ? { dtype: 'uint8' as const, shape: [N, ...v.shape], data: new Uint8Array(n) }
          : v.dtype === 'int64' ? { dtype: 'int64' as const, shape: [N], data: new BigInt64Array(N) } : { dtype: 'float32' as const, shape: [N, ...v.shape], data: new Float32Array(n) }];
      })), transform: { image: { scale: 1 / 255 } } };
      await placed({ model: spec.model, loss: spec.loss, optimizer: new SGD({ lr: 0.01, momentum: 0.9, weightDecay: 1e-4 }), inputs, batchSize: 8, data, frozen: name === 'glyph' ? 'backbone.conv1.*' : undefined });
    });
  }

  gpuIt('every image module and loss (Conv2d stride/dilation/groups, BatchNorm2d, MaxPool2d, AvgPool2d, GlobalAvgPool, LeakyReLU, Tanh, ReLU, Sigmoid, Dropout; cross-entropy with label smoothing and ignore_index, one-hot pick, MSE, Huber, smooth L1, BCE), AdamW, clipped gradients', async () => {
    const loss = combineLosses({
      ce: { loss: crossEntropy({ target: 'y', output: 'cls', labelSmoothing: 0.1, ignoreIndex: 3 }) },
      hot: { loss: crossEntropy({ target: 'y', output: 'cls', pick: 'onehot', accuracy: false }), weight: 0.5 },
      mse: { loss: mse({ target: 't', output: 'reg' }) }, huber: { loss: huber({ target: 't', output: 'reg', delta: 0.5 }) },
      sl1: { loss: smoothL1({ target: 't', output: 'reg', beta: 0.1, weight: 'w' }) }, bce: { loss: bceWithLogits({ target: 't', output: 'reg' }) },
    });
    const inputs = { x: { shape: [1, 16, 16] }, y: { shape: [], dtype: 'int64' as const }, t: { shape: [4] }, w: { shape: [4] } };
    await placed({ model: new ImageNet(), loss, optimizer: new AdamW({ lr: 1e-3, weightDecay: 0.01 }), inputs, batchSize: 4, clipGradNorm: 1 });
  });

  gpuIt('token modules (Embedding with int64 ids, LayerNorm, 3-D Linear as MatMul, GELU, Dropout, Flatten) with SGD (Nesterov) and a grad-norm metric', async () => {
    const model = new Sequential({
      emb: new Embedding(16, 8), ln: new LayerNorm(8), proj: new Linear(8, 16), act: new GELU(), drop: new Dropout(0.1),
      flat: new Flatten(), mid: new Linear(4 * 16, 8, { gemm: false }), ln2: new LayerNorm(8, 1e-5, false), head: new Linear(8, 4),
    });
    await placed({
      model, loss: crossEntropy(), optimizer: new SGD({ lr: 0.1, momentum: 0.9, nesterov: true }), batchSize: 4, gradNormMetric: true,
      inputs: { x: { shape: [4], dtype: 'int64' }, y: { shape: [], dtype: 'int64' } },
    });
  });
});
