// VJP registry keyed by ONNX op type. Each rule lives in rules/<OpType>.ts and registers itself.
import type { Graph, Node } from '../onnx/graph.js';

export interface VjpContext {
  g: Graph;
  node: Node;
  /** Gradient of each forward output (undefined: that output does not reach the loss). */
  dOut: (string | undefined)[];
  /** Whether input i needs a gradient (on the path from a parameter to the loss). */
  needs: boolean[];
  /** Name prefix for the emitted nodes. */
  scope: string;
}

/**
 * Returns the gradient for each input (undefined where not needed or not differentiable).
 * A gradient may have the *broadcast* shape of the op; the walker unbroadcasts it centrally.
 */
export type VjpRule = (ctx: VjpContext) => (string | undefined)[];

const rules = new Map<string, VjpRule>();
const nonDifferentiable = new Map<string, string>();

export function registerVjp(op: string, rule: VjpRule): void {
  if (rules.has(op)) throw new Error(`VJP rule for ${op} registered twice`);
  rules.set(op, rule);
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

markNonDifferentiable(
  ['Shape', 'Size', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor',
    'ArgMax', 'ArgMin', 'IsNaN', 'IsInf', 'OneHot', 'ConstantOfShape', 'Floor', 'Ceil', 'Round', 'Sign', 'Range',
    'RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Bernoulli'],
  'piecewise constant or integer-valued',
);
