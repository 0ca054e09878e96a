// The model registry used by configs, the CLI and runbooks: modules from src/nn plus their loss.
// `glyph`: a small CNN backbone (`backbone.*`) with a classification head (`head.cls`) and a box
// head (`head.box`), cross-entropy + smooth-L1, accuracy as `acc`, mean box IoU as `box_iou`. `glyph-tiny`: the same task
// with a tiny MLP (fast enough for the kill/resume tests). `mnist`: a small CNN classifier (MNIST
// digits, or class-folder datasets). All adapt to the data's channels, image size and classes.
// Parameter groups: `backbone`, `head`.
import type { Graph } from '../onnx/graph.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { combineLosses, crossEntropy, smoothL1, type Loss } from '../nn/loss.js';
import { Module, type ForwardContext } from '../nn/module.js';

export interface ModelSpec {
  model: Module<string, Record<string, string>>;
  loss: Loss;
  /** The batch column fed to the model. */
  input: string;
  /** Parameter groups (dotted-name prefixes), e.g. ['backbone', 'head']. */
  groups: string[];
  /** Engine metric name → reported name (e.g. cls_accuracy → acc). */
  rename: Record<string, string>;
}

class Heads extends Module<string, Record<string, string>> {
  readonly cls: Linear;
  readonly box: Linear;
  constructor(features: number, classes: number) {
    super();
    this.cls = this.add('cls', new Linear(features, classes));
    this.box = this.add('box', new Linear(features, 4));
  }
  forward(g: Graph, x: string, ctx: ForwardContext): Record<string, string> {
    return { cls: this.cls.forward(g, x, ctx), box: this.box.forward(g, x, ctx) };
  }
}

class Detector extends Module<string, Record<string, string>> {
  readonly backbone: Module;
  readonly head: Heads;
  constructor(backbone: Module, features: number, classes: number) {
    super();
    this.backbone = this.add('backbone', backbone);
    this.head = this.add('head', new Heads(features, classes));
  }
  forward(g: Graph, x: string, ctx: ForwardContext): Record<string, string> {
    return this.head.forward(g, this.backbone.forward(g, x, ctx), ctx);
  }
}

/** Mean IoU of predicted vs target boxes, both [N, 4] as (cx, cy, w, h): a metric, no gradient. */
function meanIoU(g: Graph, p: string, t: string): string {
  const s = { scope: 'metric' };
  const op = (type: string, ...xs: string[]) => g.op(type, xs, {}, s);
  const c = (v: number) => g.constant(v, 'float32');
  const col = (x: string, i: number) => g.op('Slice', [x, g.ints([i]), g.ints([i + 1]), g.ints([1])], {}, s);
  const corners = (x: string) => {
    const hw = op('Mul', col(x, 2), c(0.5)), hh = op('Mul', col(x, 3), c(0.5));
    return [op('Sub', col(x, 0), hw), op('Sub', col(x, 1), hh), op('Add', col(x, 0), hw), op('Add', col(x, 1), hh)];
  };
  const [a0, a1, a2, a3] = corners(p), [b0, b1, b2, b3] = corners(t);
  const pos = (x: string) => op('Max', x, c(0));
  const inter = op('Mul', pos(op('Sub', op('Min', a2, b2), op('Max', a0, b0))), pos(op('Sub', op('Min', a3, b3), op('Max', a1, b1))));
  const area = (x0: string, y0: string, x1: string, y1: string) => op('Mul', pos(op('Sub', x1, x0)), pos(op('Sub', y1, y0)));
  const union = op('Sub', op('Add', area(a0, a1, a2, a3), area(b0, b1, b2, b3)), inter);
  const iou = op('Div', inter, op('Max', union, c(1e-6)));
  const n = g.shape(p)[0];
  return op('Mul', g.op('ReduceSum', [iou], { keepdims: 0 }, s), c(1 / n));
}

function detectionLoss(): Loss {
  const base = combineLosses({
    cls: { loss: crossEntropy({ target: 'label', output: 'cls' }) },
    box: { loss: smoothL1({ target: 'box', output: 'box', beta: 0.05 }), weight: 4 },
  });
  return {
    targets: base.targets,
    build(inp) {
      const r = base.build(inp);
      const out = inp.outputs as Record<string, string>;
      return { loss: r.loss, metrics: { ...r.metrics, box_iou: meanIoU(inp.g, out.box, inp.batch.box) } };
    },
  };
}

/** Input: [N, C, S, S] images (C = channels, default 1). */
export function glyphModel(opts: { size?: number; classes?: number; channels?: number; width?: number } = {}): ModelSpec {
  const size = opts.size ?? 32, classes = opts.classes ?? 12, w = opts.width ?? 16;
  const backbone = new Sequential({
    conv1: new Conv2d(opts.channels ?? 1, w, 3, { padding: 1 }), relu1: new ReLU(), pool1: new MaxPool2d(2),
    conv2: new Conv2d(w, 2 * w, 3, { padding: 1 }), relu2: new ReLU(), pool2: new MaxPool2d(2),
    conv3: new Conv2d(2 * w, 2 * w, 3, { padding: 1 }), relu3: new ReLU(), pool3: new MaxPool2d(2),
    flatten: new Flatten(), fc: new Linear(2 * w * Math.floor(size / 8) ** 2, 64), relu4: new ReLU(), // each pool floors
  });
  return { model: new Detector(backbone, 64, classes), loss: detectionLoss(), input: 'image', groups: ['backbone', 'head'], rename: RENAME };
}

/** A tiny MLP on the same task (for fast tests). */
export function glyphTinyModel(opts: { size?: number; classes?: number; channels?: number; hidden?: number } = {}): ModelSpec {
  const size = opts.size ?? 32, classes = opts.classes ?? 12, h = opts.hidden ?? 16;
  const backbone = new Sequential({ flatten: new Flatten(), fc: new Linear((opts.channels ?? 1) * size * size, h), relu: new ReLU() });
  return { model: new Detector(backbone, h, classes), loss: detectionLoss(), input: 'image', groups: ['backbone', 'head'], rename: RENAME };
}

const RENAME = { cls_accuracy: 'acc' };

class Classifier extends Module {
  readonly backbone: Module;
  readonly head: Linear;
  constructor(backbone: Module, features: number, classes: number) {
    super();
    this.backbone = this.add('backbone', backbone);
    this.head = this.add('head', new Linear(features, classes));
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    return this.head.forward(g, this.backbone.forward(g, x, ctx), ctx);
  }
}

/** A small CNN classifier, cross-entropy, accuracy as `acc`; by default MNIST digits ([N, 1, 28, 28] → 10 classes). */
export function mnistModel(opts: { size?: number; classes?: number; channels?: number; width?: number } = {}): ModelSpec {
  const w = opts.width ?? 8, size = opts.size ?? 28;
  const backbone = new Sequential({
    conv1: new Conv2d(opts.channels ?? 1, w, 3, { padding: 1 }), relu1: new ReLU(), pool1: new MaxPool2d(2),
    conv2: new Conv2d(w, 2 * w, 3, { padding: 1 }), relu2: new ReLU(), pool2: new MaxPool2d(2),
    flatten: new Flatten(), fc: new Linear(2 * w * Math.floor(size / 4) ** 2, 64), relu3: new ReLU(), // each pool floors
  });
  const model = new Classifier(backbone, 64, opts.classes ?? 10) as unknown as Module<string, Record<string, string>>;
  return { model, loss: crossEntropy({ target: 'label' }), input: 'image', groups: ['backbone', 'head'], rename: { accuracy: 'acc' } };
}

/** What a built-in model adapts to: the data's image side, channels and number of classes. */
export interface ModelShape { size: number; classes: number; channels?: number }

export const MODELS: Record<string, (o: ModelShape) => ModelSpec> = {
  glyph: (o) => glyphModel(o),
  'glyph-tiny': (o) => glyphTinyModel(o),
  mnist: (o) => mnistModel(o),
};

export function createModel(name: string, o: ModelShape): ModelSpec {
  const f = MODELS[name];
  if (!f) throw new Error(`model: unknown model "${name}" (known: ${Object.keys(MODELS).join(', ')})`);
  return f(o);
}
