// Task wrappers around any backbone: a Detector (one object per image: class logits `cls` and a
// box `box` as normalised (cx, cy, w, h)) and a Classifier (logits), their losses, the box-IoU
// metric, and ModelSpec builders. Parameter groups: `backbone` and `head`.
import type { Graph } from '../onnx/graph.js';
import { Linear } from '../nn/layers.js';
import { combineLosses, crossEntropy, smoothL1, type Loss } from '../nn/loss.js';
import { Module, type ForwardContext } from '../nn/module.js';

export type Task = 'detection' | 'classification';

export interface ModelSpec {
  model: Module<any, any>;
  loss: Loss;
  /** The batch column fed to the model. */
  input: string;
  /** Parameter groups (dotted-name prefixes), e.g. ['backbone', 'head']. */
  groups: string[];
  /** Engine metric name → reported name (e.g. cls_accuracy → acc). */
  rename: Record<string, string>;
  /** What the outputs mean (export metadata, predict): detection = `cls` logits + `box`; classification = logits. */
  task?: Task;
}

/** `cls`: Linear(features → classes) logits; `box`: Linear(features → 4), (cx, cy, w, h) in [0, 1]. */
export class DetectionHeads extends Module<string, Record<string, string>> {
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

/** `backbone` (image → features [N, F]) then `head` (DetectionHeads): outputs { cls, box }. */
export class Detector extends Module<string, Record<string, string>> {
  readonly backbone: Module;
  readonly head: DetectionHeads;
  constructor(backbone: Module, features: number, classes: number) {
    super();
    checkClasses(classes, 'Detector');
    this.backbone = this.add('backbone', backbone);
    this.head = this.add('head', new DetectionHeads(features, classes));
  }
  forward(g: Graph, x: string, ctx: ForwardContext): Record<string, string> {
    return this.head.forward(g, this.backbone.forward(g, x, ctx), ctx);
  }
}

/** `backbone` then `head` = Linear(features → classes): logits [N, classes]. */
export class Classifier extends Module {
  readonly backbone: Module;
  readonly head: Linear;
  constructor(backbone: Module, features: number, classes: number) {
    super();
    checkClasses(classes, 'Classifier');
    this.backbone = this.add('backbone', backbone);
    this.head = this.add('head', new Linear(features, classes));
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    return this.head.forward(g, this.backbone.forward(g, x, ctx), ctx);
  }
}

function checkClasses(classes: number, who: string): void {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`${who}: classes must be a positive integer (the dataset's class count), got ${classes}`);
}

/** Mean IoU of predicted vs target boxes, both [N, 4] as (cx, cy, w, h): a metric, no gradient. */
export function boxIoU(g: Graph, p: string, t: string): string {
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

export interface DetectionLossOptions {
  /** Batch columns (default 'label' and 'box'). */
  label?: string;
  box?: string;
  /** Weight of the smooth-L1 box loss (default 4) and its β (default 0.05). */
  boxWeight?: number;
  beta?: number;
}

/** Cross-entropy on `cls` + weighted smooth-L1 on `box`; metrics cls_loss, box_loss, cls_accuracy, box_iou. */
export function detectionLoss(opts: DetectionLossOptions = {}): Loss {
  const label = opts.label ?? 'label', box = opts.box ?? 'box';
  const base = combineLosses({
    cls: { loss: crossEntropy({ target: label, output: 'cls' }) },
    box: { loss: smoothL1({ target: box, output: 'box', beta: opts.beta ?? 0.05 }), weight: opts.boxWeight ?? 4 },
  });
  return {
    targets: base.targets,
    build(inp) {
      const r = base.build(inp);
      const out = inp.outputs as Record<string, string>;
      return { loss: r.loss, metrics: { ...r.metrics, box_iou: boxIoU(inp.g, out.box, inp.batch[box]) } };
    },
  };
}

/** A detection ModelSpec: Detector(backbone) + detectionLoss, input `image`, accuracy reported as `acc`. */
export function detectorSpec(backbone: Module, features: number, classes: number, opts: { input?: string; loss?: DetectionLossOptions } = {}): ModelSpec {
  return { model: new Detector(backbone, features, classes), loss: detectionLoss(opts.loss), input: opts.input ?? 'image', groups: ['backbone', 'head'], rename: { cls_accuracy: 'acc' }, task: 'detection' };
}

/** A classification ModelSpec: Classifier(backbone) + cross-entropy on `label`, accuracy reported as `acc`. */
export function classifierSpec(backbone: Module, features: number, classes: number, opts: { input?: string; label?: string } = {}): ModelSpec {
  const model = new Classifier(backbone, features, classes);
  return { model, loss: crossEntropy({ target: opts.label ?? 'label' }), input: opts.input ?? 'image', groups: ['backbone', 'head'], rename: { accuracy: 'acc' }, task: 'classification' };
}
