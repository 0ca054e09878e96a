// Seeded initialisers with PyTorch's formulas (torch.nn.init). fan_in = shape[1]·∏shape[2:],
// fan_out = shape[0]·∏shape[2:].
import type { Initializer } from './module.js';
import { numel } from '../tensor.js';

export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const rf = numel(shape.slice(2));
  return { fanIn: shape[1] * rf, fanOut: shape[0] * rf };
}

export function uniformInit(bound: number): Initializer {
  return (shape, rng) => Float32Array.from({ length: numel(shape) }, () => rng.uniform(-bound, bound));
}

export function constantInit(value: number): Initializer {
  return (shape) => new Float32Array(numel(shape)).fill(value);
}
export const zeros = constantInit(0);
export const ones = constantInit(1);

export function normalInit(std: number, mean = 0): Initializer {
  return (shape, rng) => Float32Array.from({ length: numel(shape) }, () => mean + std * rng.normal());
}

/** kaiming_uniform_(a, mode='fan_in', leaky_relu): bound = gain·√(3/fan_in), gain = √(2/(1+a²)). a=√5 is nn.Linear/Conv's default (bound = 1/√fan_in). */
export function kaimingUniform(a = Math.sqrt(5)): Initializer {
  return (shape, rng) => uniformInit(Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fans(shape).fanIn))(shape, rng);
}

/** kaiming_normal_(mode, relu): std = √(2/fan) with fan = fan_in (default) or fan_out (torchvision's ResNet convs). */
export function kaimingNormal(mode: 'fan_in' | 'fan_out' = 'fan_in'): Initializer {
  return (shape, rng) => {
    const f = fans(shape);
    return normalInit(Math.sqrt(2 / (mode === 'fan_out' ? f.fanOut : f.fanIn)))(shape, rng);
  };
}

/** xavier_uniform_: bound = gain·√(6/(fan_in+fan_out)). */
export function xavierUniform(gain = 1): Initializer {
  return (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    return uniformInit(gain * Math.sqrt(6 / (fanIn + fanOut)))(shape, rng);
  };
}

/** xavier_normal_: std = gain·√(2/(fan_in+fan_out)). */
export function xavierNormal(gain = 1): Initializer {
  return (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    return normalInit(gain * Math.sqrt(2 / (fanIn + fanOut)))(shape, rng);
  };
}

/** PyTorch's default bias init for Linear/Conv: U(-1/√fan_in, 1/√fan_in) with the weight's fan_in. */
export function biasInit(fanIn: number): Initializer {
  return uniformInit(fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
}
