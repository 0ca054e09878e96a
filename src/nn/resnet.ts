// ResNet with BasicBlocks (He et al. 2015) under torchvision's parameter names, so a torchvision
// state_dict loads by name: conv1, bn1, layer1.0.conv1, layer1.0.bn1.running_mean,
// layer2.0.downsample.0 (1×1 projection), layer2.0.downsample.1 (its BatchNorm), …, fc.
// resnet18 = layers [2, 2, 2, 2], resnet34 = [3, 4, 6, 3]; `width` scales every stage (torchvision:
// 64) and the 'small' stem (3×3/1 conv, no max-pool) keeps detail in 32×32-class images.
import type { Graph } from '../onnx/graph.js';
import { kaimingNormal } from './init.js';
import { Conv2d, GlobalAvgPool, Linear, MaxPool2d, ReLU, Sequential } from './layers.js';
import { Module } from './module.js';
import type { ForwardContext } from './module.js';
import { BatchNorm2d } from './norm.js';
import { Add } from './residual.js';

const convInit = kaimingNormal('fan_out'); // torchvision: kaiming_normal_(mode='fan_out', nonlinearity='relu')

/** Two 3×3 conv-BN layers with a skip connection; a 1×1 conv-BN `downsample` when the shape changes. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu = new ReLU();
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample?: Sequential;
  private readonly sum = new Add();
  constructor(readonly inPlanes: number, readonly planes: number, readonly stride = 1) {
    super();
    this.conv1 = this.add('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false, weightInit: convInit }));
    this.bn1 = this.add('bn1', new BatchNorm2d(planes));
    this.add('relu', this.relu);
    this.conv2 = this.add('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false, weightInit: convInit }));
    this.bn2 = this.add('bn2', new BatchNorm2d(planes));
    if (stride !== 1 || inPlanes !== planes) {
      this.downsample = this.add('downsample', new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false, weightInit: convInit }), new BatchNorm2d(planes)));
    }
    this.add('sum', this.sum);
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    let y = this.relu.forward(g, this.bn1.forward(g, this.conv1.forward(g, x, ctx), ctx));
    y = this.bn2.forward(g, this.conv2.forward(g, y, ctx), ctx);
    const skip = this.downsample ? this.downsample.forward(g, x, ctx) : x;
    return this.relu.forward(g, this.sum.forward(g, [y, skip]));
  }
}

export interface ResNetOptions {
  /** BasicBlocks per stage (default [2, 2, 2, 2], resnet18; [3, 4, 6, 3] is resnet34). */
  layers?: number[];
  /** Channels of the stem and the first stage; stage i has width·2^i (default 64, torchvision's). */
  width?: number;
  /** Image channels (default 3). */
  inChannels?: number;
  /** 'imagenet' (default): 7×7 stride-2 conv + 3×3 stride-2 max-pool, as torchvision; 'small': one 3×3 stride-1 conv, no pool. */
  stem?: 'imagenet' | 'small';
  /** With a number: the classifier `fc` (torchvision's whole model, logits [N, numClasses]); without: pooled features [N, features]. */
  numClasses?: number;
}

export class ResNet extends Module {
  /** Channels of the pooled features (the input size of `fc` or of a head). */
  readonly features: number;
  readonly stages: BasicBlock[][] = [];
  readonly stem: 'imagenet' | 'small';
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly relu = new ReLU();
  private readonly maxpool?: MaxPool2d;
  private readonly stageModules: Sequential[] = [];
  private readonly avgpool = new GlobalAvgPool(true);
  private readonly fc?: Linear;
  constructor(readonly opts: ResNetOptions = {}) {
    super();
    const layers = opts.layers ?? [2, 2, 2, 2];
    const width = opts.width ?? 64;
    const inChannels = opts.inChannels ?? 3;
    this.stem = opts.stem ?? 'imagenet';
    if (!layers.length || layers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`ResNet: layers must be positive block counts per stage, e.g. [2, 2, 2, 2]; got [${layers}]`);
    if (!Number.isInteger(width) || width < 1) throw new Error(`ResNet: width must be a positive integer, got ${width}`);
    if (this.stem !== 'imagenet' && this.stem !== 'small') throw new Error(`ResNet: stem must be 'imagenet' or 'small', got ${String(this.stem)}`);
    const big = this.stem === 'imagenet';
    this.conv1 = this.add('conv1', new Conv2d(inChannels, width, big ? 7 : 3, { stride: big ? 2 : 1, padding: big ? 3 : 1, bias: false, weightInit: convInit }));
    this.bn1 = this.add('bn1', new BatchNorm2d(width));
    this.add('relu', this.relu);
    if (big) this.maxpool = this.add('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    let inPlanes = width;
    layers.forEach((blocks, i) => {
      const planes = width * 2 ** i;
      const stage = Array.from({ length: blocks }, (_, b) => new BasicBlock(b === 0 ? inPlanes : planes, planes, b === 0 && i > 0 ? 2 : 1));
      inPlanes = planes;
      this.stages.push(stage);
      this.stageModules.push(this.add(`layer${i + 1}`, new Sequential(...stage)));
    });
    this.features = inPlanes;
    this.add('avgpool', this.avgpool);
    if (opts.numClasses !== undefined) this.fc = this.add('fc', new Linear(inPlanes, opts.numClasses));
  }

  forward(g: Graph, x: string, ctx: ForwardContext): string {
    let y = this.relu.forward(g, this.bn1.forward(g, this.conv1.forward(g, x, ctx), ctx));
    if (this.maxpool) y = this.maxpool.forward(g, y, ctx);
    for (const st of this.stageModules) y = st.forward(g, y, ctx);
    y = this.avgpool.forward(g, y);
    return this.fc ? this.fc.forward(g, y, ctx) : y;
  }
}

/** torchvision's resnet18 layout (BasicBlocks [2, 2, 2, 2]). */
export function resnet18(opts: Omit<ResNetOptions, 'layers'> = {}): ResNet {
  return new ResNet({ ...opts, layers: [2, 2, 2, 2] });
}

/** torchvision's resnet34 layout (BasicBlocks [3, 4, 6, 3]). */
export function resnet34(opts: Omit<ResNetOptions, 'layers'> = {}): ResNet {
  return new ResNet({ ...opts, layers: [3, 4, 6, 3] });
}
