// Optimizers as update subgraphs. The learning rate of each parameter group and the step count are
// scalar graph inputs (`lr.<group>`, `opt.step`), so schedules never rebuild a graph. Scalars that
// depend only on the step (Adam's bias corrections) are computed on the host in float64, as
// PyTorch computes them in Python floats, and fed as float32 inputs `hp.<group>.<name>`: in float32,
// 1 − 0.999 is 0.00099998713, which made every Adam step ~6e-6 relative too small.
import type { Graph } from '../onnx/graph.js';
import { matchAny } from '../nn/select.js';

export interface Hyper {
  lr: number;
  weightDecay: number;
  [k: string]: number | boolean;
}

export interface UpdateArgs {
  g: Graph;
  /** Parameter name (without `param.`), for node scopes. */
  name: string;
  param: string;
  grad: string;
  /** Current slot values by slot name (e.g. m, v). */
  slots: Record<string, string>;
  /** Scalar: this group's learning rate. */
  lr: string;
  /** Scalar float: the step being taken, t = 1, 2, … (PyTorch's state['step'] after its increment). */
  t: string;
  /** Per-group scalars shared by all parameters of the group (see `groupScalars`). */
  shared: Record<string, string>;
  hp: Hyper;
}

export interface Optimizer {
  readonly kind: string;
  readonly defaults: Hyper;
  /** State slots per parameter for these hyper-parameters (`opt.<slot>.<param>`). */
  slotNames(hp: Hyper): string[];
  /** Names of the host-computed scalars of a group (graph inputs `hp.<group>.<name>`, float32 []). */
  hostScalarNames(hp: Hyper): string[];
  /** Their values for step t = 1, 2, … and learning rate lr, in float64 (rounded to float32 only when fed). */
  hostScalars(hp: Hyper, lr: number, t: number): Record<string, number>;
  /**
   * Graph scalars shared by the group's parameters; `host` maps each name of hostScalarNames to
   * its graph input.
   */
  groupScalars(g: Graph, hp: Hyper, lr: string, t: string, host: Record<string, string>): Record<string, string>;
  update(a: UpdateArgs): { param: string; slots: Record<string, string> };
}

/** Parameter group: which parameters (glob or prefix patterns) and hyper-parameter overrides. */
export interface ParamGroup {
  name: string;
  params: string | string[];
  lr?: number;
  weightDecay?: number;
  [k: string]: unknown;
}

export interface ResolvedGroup {
  name: string;
  hp: Hyper;
  params: string[];
}

/**
 * Assigns each trainable parameter to the first group whose patterns match it; the rest form the
 * group `default` with the optimizer's defaults. A group that matches nothing is an error.
 */
export function resolveGroups(opt: Optimizer, params: readonly string[], groups: readonly ParamGroup[] = []): ResolvedGroup[] {
  const out: ResolvedGroup[] = groups.map((gr) => {
    if (!/^[A-Za-z0-9_-]+$/.test(gr.name)) throw new Error(`parameter group name "${gr.name}" must be letters, digits, _ or -`);
    const hp: Hyper = { ...opt.defaults };
    for (const [k, v] of Object.entries(gr)) {
      if (k === 'name' || k === 'params' || v === undefined) continue;
      if (!(k in opt.defaults)) throw new Error(`parameter group "${gr.name}": ${opt.kind} has no hyper-parameter "${k}" (it has ${Object.keys(opt.defaults).join(', ')})`);
      hp[k] = v as number | boolean;
    }
    return { name: gr.name, hp, params: [] };
  });
  if (new Set(out.map((o) => o.name)).size !== out.length) throw new Error('parameter group names must be unique');
  const rest: string[] = [];
  for (const p of params) {
    const k = groups.findIndex((gr) => matchAny(gr.params, p));
    if (k >= 0) out[k].params.push(p);
    else rest.push(p);
  }
  out.forEach((o, k) => {
    if (!o.params.length) throw new Error(`parameter group "${o.name}" (${JSON.stringify(groups[k].params)}) matches no trainable parameter`);
  });
  if (rest.length) {
    if (out.some((o) => o.name === 'default')) throw new Error('group name "default" is reserved for parameters no group matches');
    out.push({ name: 'default', hp: { ...opt.defaults }, params: rest });
  }
  return out;
}

/**
 * Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_): n = √Σ‖g‖², c = min(max/(n + 1e-6), 1),
 * every g ← c·g. Returns the clipped gradients and n (a useful metric).
 */
export function clipGradNorm(g: Graph, grads: Map<string, string>, maxNorm: number): { grads: Map<string, string>; norm: string } {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const s = { scope: 'clip' };
  const norm = gradNorm(g, grads, s.scope);
  const coef = g.op('Div', [g.constant(maxNorm), g.op('Add', [norm, g.constant(1e-6)], {}, s)], {}, s);
  const clamped = g.op('Min', [coef, g.constant(1)], {}, s);
  const out = new Map<string, string>();
  for (const [k, gr] of grads) out.set(k, g.op('Mul', [gr, clamped], {}, s));
  return { grads: out, norm };
}

/** Global L2 norm of the gradients, √Σ‖g‖². */
export function gradNorm(g: Graph, grads: Map<string, string>, scope = 'gradnorm'): string {
  const s = { scope };
  let sq: string | undefined;
  for (const gr of grads.values()) {
    const t = g.op('ReduceSumSquare', [gr], { keepdims: 0 }, s);
    sq = sq ? g.op('Add', [sq, t], {}, s) : t;
  }
  return g.op('Sqrt', [sq!], {}, s);
}
