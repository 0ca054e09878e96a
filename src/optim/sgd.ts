// torch.optim.SGD (maximize=False), per its documentation:
//   g ← ∇ + λ·θ                                  (weight_decay λ ≠ 0)
//   if μ ≠ 0:  b ← g at t = 1, else b ← μ·b + (1-τ)·g     (momentum μ, dampening τ)
//              g ← g + μ·b if nesterov else b
//   θ ← θ - γ·g                                   (lr γ)
// The momentum buffer exists only when μ ≠ 0 (`opt.momentum_buffer.<param>`).
import type { Graph } from '../onnx/graph.js';
import type { Hyper, Optimizer, UpdateArgs } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD implements Optimizer {
  readonly kind = 'SGD';
  readonly defaults: Hyper;
  constructor(opts: SGDOptions) {
    const d = { lr: opts.lr, momentum: opts.momentum ?? 0, dampening: opts.dampening ?? 0, nesterov: opts.nesterov ?? false, weightDecay: opts.weightDecay ?? 0 };
    if (!(d.lr >= 0)) throw new Error(`SGD: lr must be >= 0, got ${d.lr}`);
    if (d.momentum < 0) throw new Error(`SGD: momentum must be >= 0, got ${d.momentum}`);
    if (d.nesterov && (d.momentum <= 0 || d.dampening !== 0)) throw new Error('SGD: nesterov needs momentum > 0 and dampening 0 (as in PyTorch)');
    this.defaults = d;
  }

  slotNames(hp: Hyper): string[] {
    return (hp.momentum as number) !== 0 ? ['momentum_buffer'] : [];
  }

  hostScalarNames(): string[] {
    return [];
  }

  hostScalars(): Record<string, number> {
    return {};
  }

  groupScalars(g: Graph, hp: Hyper, _lr: string, t: string): Record<string, string> {
    if ((hp.momentum as number) === 0) return {};
    return { first: g.op('Less', [t, g.constant(1.5)], {}, { scope: 'sgd' }) };
  }

  update({ g, name, param, grad, slots, lr, shared, hp }: UpdateArgs) {
    const s = { scope: `sgd/${name}` };
    const dt = g.dtype(param);
    const mu = hp.momentum as number, tau = hp.dampening as number, wd = hp.weightDecay;
    let d = grad;
    if (wd !== 0) d = g.op('Add', [d, g.op('Mul', [param, g.constant(wd, dt)], {}, s)], {}, s);
    const newSlots: Record<string, string> = {};
    if (mu !== 0) {
      let decayed = g.op('Mul', [slots.momentum_buffer, g.constant(mu, dt)], {}, s);
      const inc = tau === 0 ? d : g.op('Mul', [d, g.constant(1 - tau, dt)], {}, s);
      decayed = g.op('Add', [decayed, inc], {}, s);
      const b = g.op('Where', [shared.first, d, decayed], {}, s);
      newSlots.momentum_buffer = b;
      d = hp.nesterov ? g.op('Add', [d, g.op('Mul', [b, g.constant(mu, dt)], {}, s)], {}, s) : b;
    }
    return { param: g.op('Sub', [param, g.op('Mul', [d, lr], {}, s)], {}, s), slots: newSlots };
  }
}
