// torch.optim.AdamW (amsgrad=False, maximize=False), per its documentation and implementation:
//   θ ← θ·(1 - γ·λ)                              (decoupled weight decay λ, lr γ)
//   m ← m + (1-β₁)·(g - m)                         (= β₁·m + (1-β₁)·g, PyTorch's lerp)
//   v ← β₂·v + (1-β₂)·g²
//   θ ← θ - (γ / (1-β₁ᵗ)) · m / (√v / √(1-β₂ᵗ) + ε)
// t is the step being taken (1, 2, …); slots `opt.m.<p>`, `opt.v.<p>`. As in PyTorch, the scalars
// γ/(1-β₁ᵗ), √(1-β₂ᵗ) and 1-γ·λ are computed in float64 (on the host) and rounded once to float32.
import type { Graph } from '../onnx/graph.js';
import type { Hyper, Optimizer, UpdateArgs } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW implements Optimizer {
  readonly kind = 'AdamW';
  readonly defaults: Hyper;
  constructor(opts: AdamWOptions) {
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    const d = { lr: opts.lr, beta1: b1, beta2: b2, eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 1e-2 };
    if (!(d.lr >= 0)) throw new Error(`AdamW: lr must be >= 0, got ${d.lr}`);
    for (const b of [b1, b2]) if (!(b >= 0 && b < 1)) throw new Error(`AdamW: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(d.eps >= 0)) throw new Error(`AdamW: eps must be >= 0, got ${d.eps}`);
    this.defaults = d;
  }

  slotNames(): string[] {
    return ['m', 'v'];
  }

  hostScalarNames(hp: Hyper): string[] {
    return hp.weightDecay !== 0 ? ['step_size', 'bc2_sqrt', 'decay'] : ['step_size', 'bc2_sqrt'];
  }

  hostScalars(hp: Hyper, lr: number, t: number): Record<string, number> {
    const out: Record<string, number> = {
      step_size: lr / (1 - (hp.beta1 as number) ** t),
      bc2_sqrt: Math.sqrt(1 - (hp.beta2 as number) ** t),
    };
    if (hp.weightDecay !== 0) out.decay = 1 - lr * hp.weightDecay;
    return out;
  }

  groupScalars(_g: Graph, _hp: Hyper, _lr: string, _t: string, host: Record<string, string>): Record<string, string> {
    return { stepSize: host.step_size, bc2Sqrt: host.bc2_sqrt, ...(host.decay ? { decay: host.decay } : {}) };
  }

  update({ g, name, param, grad, slots, shared, hp }: UpdateArgs) {
    const s = { scope: `adamw/${name}` };
    const dt = g.dtype(param);
    const b1 = hp.beta1 as number, b2 = hp.beta2 as number;
    const p = shared.decay ? g.op('Mul', [param, shared.decay], {}, s) : param;
    const m = g.op('Add', [slots.m, g.op('Mul', [g.op('Sub', [grad, slots.m], {}, s), g.constant(1 - b1, dt)], {}, s)], {}, s);
    const g2 = g.op('Mul', [g.op('Mul', [grad, grad], {}, s), g.constant(1 - b2, dt)], {}, s);
    const v = g.op('Add', [g.op('Mul', [slots.v, g.constant(b2, dt)], {}, s), g2], {}, s);
    const denom = g.op('Add', [g.op('Div', [g.op('Sqrt', [v], {}, s), shared.bc2Sqrt], {}, s), g.constant(hp.eps as number, dt)], {}, s);
    // PyTorch's addcdiv order: (step_size · m) / denom
    const upd = g.op('Div', [g.op('Mul', [m, shared.stepSize], {}, s), denom], {}, s);
    return { param: g.op('Sub', [p, upd], {}, s), slots: { m, v } };
  }
}
