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

/** A scalar the host computes each step in float64 and feeds as a float32 [] graph input. */
export interface HostScalarDecl {
  /** Graph input name: `hp.<group>.<scalar>`. */
  name: string;
  group: string;
  scalar: string;
}

export interface OptimizerPlan {
  groups: ResolvedGroup[];
  slots: SlotDecl[];
  hostScalars: HostScalarDecl[];
}

export const hostScalarInput = (group: string, scalar: string) => `hp.${group}.${scalar}`;

export function planOptimizer(opt: Optimizer, params: readonly ParamInfo[], groups?: readonly ParamGroup[]): OptimizerPlan {
  const resolved = resolveGroups(opt, params.map((p) => p.name), groups);
  const byName = new Map(params.map((p) => [p.name, p]));
  const slots: SlotDecl[] = [];
  const hostScalars: HostScalarDecl[] = [];
  for (const gr of resolved) {
    for (const scalar of opt.hostScalarNames(gr.hp)) hostScalars.push({ name: hostScalarInput(gr.name, scalar), group: gr.name, scalar });
    for (const slot of opt.slotNames(gr.hp)) {
      for (const p of gr.params) {
        const info = byName.get(p)!;
        slots.push({ name: `opt.${slot}.${p}`, slot, param: p, shape: [...info.shape], dtype: info.dtype });
      }
    }
  }
  return { groups: resolved, slots, hostScalars };
}

/**
 * Values of the plan's host scalars for step t (1, 2, …) with these learning rates per group,
 * keyed by graph input name; computed in float64 (the caller rounds them to float32 when feeding).
 */
export function hostScalarValues(opt: Optimizer, plan: OptimizerPlan, lrs: Record<string, number>, t: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const gr of plan.groups) {
    const lr = lrs[gr.name] ?? gr.hp.lr;
    for (const [k, v] of Object.entries(opt.hostScalars(gr.hp, lr, t))) out[hostScalarInput(gr.name, k)] = v;
  }
  return out;
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
  /** Graph input of a host scalar (default `hp.<group>.<scalar>`, which the caller declares). */
  host?(group: string, scalar: string): string;
}

/** Returns new values keyed by state name (`param.<p>`, `opt.<slot>.<p>`) for the parameters that have a gradient. */
export function emitOptimizerUpdate(g: Graph, opt: Optimizer, plan: OptimizerPlan, src: UpdateSources): Map<string, string> {
  const out = new Map<string, string>();
  for (const gr of plan.groups) {
    const lr = src.lr(gr.name);
    const host = Object.fromEntries(opt.hostScalarNames(gr.hp).map((k) => [k, src.host ? src.host(gr.name, k) : hostScalarInput(gr.name, k)]));
    const shared = opt.groupScalars(g, gr.hp, lr, src.t, host);
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
