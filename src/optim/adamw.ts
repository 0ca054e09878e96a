// torch.optim.AdamW (amsgrad=False, maximize=False), per its documentation and implementation:
//   θ ← θ·(1 - γ·λ)                              (decoupled weight decay λ, lr γ)
//   m ← m + (1-β₁)·(g - m)                         (= β₁·m + (1-β₁)·g, PyTorch's lerp)
//   v ← β₂·v + (1-β₂)·g²
//   θ ← θ - (γ / (1-β₁ᵗ)) · m / (√v / √(1-β₂ᵗ) + ε)
// t is the step being taken (1, 2, …) from the `opt.step` input; slots `opt.m.<p>`, `opt.v.<p>`.
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

  groupScalars(g: Graph, hp: Hyper, lr: string, t: string): Record<string, string> {
    const s = { scope: 'adamw' };
    const one = g.constant(1);
    const bc1 = g.op('Sub', [one, g.op('Pow', [g.constant(hp.beta1 as number), t], {}, s)], {}, s);
    const bc2 = g.op('Sub', [one, g.op('Pow', [g.constant(hp.beta2 as number), t], {}, s)], {}, s);
    const out: Record<string, string> = {
      stepSize: g.op('Div', [lr, bc1], {}, s),
      bc2Sqrt: g.op('Sqrt', [bc2], {}, s),
    };
    if (hp.weightDecay !== 0) out.decay = g.op('Sub', [one, g.op('Mul', [lr, g.constant(hp.weightDecay)], {}, s)], {}, s);
    return out;
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
    const upd = g.op('Mul', [g.op('Div', [m, denom], {}, s), shared.stepSize], {}, s);
    return { param: g.op('Sub', [p, upd], {}, s), slots: { m, v } };
  }
}
