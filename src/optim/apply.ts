// Emits the optimizer update for every trainable parameter, group by group, and lists the state
// slots it needs. State names follow DESIGN.md: `param.<p>`, `opt.<slot>.<p>`, `opt.step`.
import type { Graph } from '../onnx/graph.js';
import type { DType } from '../tensor.js';
import type { Optimizer, ParamGroup, ResolvedGroup } from './optimizer.js';
import { resolveGroups } from './optimizer.js';

export interface ParamInfo {
  name: string;
  shape: number[];
  dtype: DType;
}

export interface SlotDecl {
  /** Full state name, e.g. `opt.m.fc1.weight`. */
  name: string;
  slot: string;
  param: string;
  shape: number[];
  dtype: DType;
}

export interface OptimizerPlan {
  groups: ResolvedGroup[];
  slots: SlotDecl[];
}

export function planOptimizer(opt: Optimizer, params: readonly ParamInfo[], groups?: readonly ParamGroup[]): OptimizerPlan {
  const resolved = resolveGroups(opt, params.map((p) => p.name), groups);
  const byName = new Map(params.map((p) => [p.name, p]));
  const slots: SlotDecl[] = [];
  for (const gr of resolved) {
    for (const slot of opt.slotNames(gr.hp)) {
      for (const p of gr.params) {
        const info = byName.get(p)!;
        slots.push({ name: `opt.${slot}.${p}`, slot, param: p, shape: [...info.shape], dtype: info.dtype });
      }
    }
  }
  return { groups: resolved, slots };
}

export interface UpdateSources {
  param(name: string): string;
  /**
   * Gradient of a parameter, or undefined when the loss does not depend on it: like PyTorch with
   * `grad is None`, such a parameter and its slots are left as they are (no weight decay either).
   */
  grad(name: string): string | undefined;
  /** Current value of a state slot by full name. */
  slot(stateName: string): string;
  /** Scalar learning-rate input of a group. */
  lr(group: string): string;
  /** Scalar float t = 1, 2, … of the step being taken. */
  t: string;
}

/** Returns new values keyed by state name (`param.<p>`, `opt.<slot>.<p>`) for the parameters that have a gradient. */
export function emitOptimizerUpdate(g: Graph, opt: Optimizer, plan: OptimizerPlan, src: UpdateSources): Map<string, string> {
  const out = new Map<string, string>();
  for (const gr of plan.groups) {
    const lr = src.lr(gr.name);
    const shared = opt.groupScalars(g, gr.hp, lr, src.t);
    const slotNames = opt.slotNames(gr.hp);
    for (const p of gr.params) {
      const grad = src.grad(p);
      if (grad === undefined) continue;
      const slots: Record<string, string> = {};
      for (const s of slotNames) slots[s] = src.slot(`opt.${s}.${p}`);
      const r = opt.update({ g, name: p, param: src.param(p), grad, slots, lr, t: src.t, shared, hp: gr.hp });
      out.set(`param.${p}`, r.param);
      for (const [s, v] of Object.entries(r.slots)) out.set(`opt.${s}.${p}`, v);
    }
  }
  return out;
}
