// VJP registry keyed by ONNX op type: the configs listed in rules/index.ts (one rules/<Op>.ts
// each), the ops that carry no gradient, and any config a user registers. An op in neither is
// unknown: lookupVjp returns undefined and the walker refuses the graph.
import { gradConfigs } from './rules/index.js';
import type { GradConfig, VjpRule } from './types.js';

export type { GradConfig, VjpContext, VjpRule } from './types.js';

const rules = new Map<string, VjpRule>();
const nonDifferentiable = new Map<string, string>();

for (const config of gradConfigs) registerGradient(config);
markNonDifferentiable(
  ['Shape', 'Size', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor',
    'ArgMax', 'ArgMin', 'IsNaN', 'IsInf', 'OneHot', 'ConstantOfShape', 'Floor', 'Ceil', 'Round', 'Sign', 'Range',
    'RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Bernoulli'],
  'piecewise constant or integer-valued',
);

export function registerGradient({ op, vjp }: GradConfig): void {
  if (rules.has(op)) throw new Error(`VJP rule for ${op} registered twice`);
  rules.set(op, vjp);
}

/** Ops whose outputs carry no gradient (comparisons, shapes, indices). */
export function markNonDifferentiable(ops: string[], reason: string): void {
  for (const op of ops) nonDifferentiable.set(op, reason);
}

export function lookupVjp(op: string): VjpRule | 'none' | undefined {
  return rules.get(op) ?? (nonDifferentiable.has(op) ? 'none' : undefined);
}

export function registeredOps(): { rules: string[]; nonDifferentiable: string[] } {
  return { rules: [...rules.keys()].sort(), nonDifferentiable: [...nonDifferentiable.keys()].sort() };
}
