// Optimizer update subgraphs vs the documented PyTorch formulas computed by hand in float64.
import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { createSession, fromOrt, toOrt } from '../onnx/session.js';
import { Rng } from '../random.js';
import { AdamW } from './adamw.js';
import { emitOptimizerUpdate, planOptimizer } from './apply.js';
import type { Optimizer, ParamGroup } from './optimizer.js';
import { SGD } from './sgd.js';

type Ref = (p: number[], g: number[], state: Record<string, number[]>, t: number, lr: number) => number[];

/** Runs `steps` updates of two parameters (groups a / b) through ONNX and through `ref`. */
async function compare(opt: Optimizer, ref: (group: string) => Ref, groups: ParamGroup[] = [], lrs: Record<string, number[]> = {}) {
  const shapes: Record<string, number[]> = { 'a.w': [3, 2], 'b.w': [4] };
  const plan = planOptimizer(opt, Object.entries(shapes).map(([name, shape]) => ({ name, shape, dtype: 'float32' })), groups);
  const g = new Graph('opt');
  const t = g.input('t', 'float32', []);
  for (const [n, s] of Object.entries(shapes)) { g.input(`param.${n}`, 'float32', s); g.input(`grad.${n}`, 'float32', s); }
  for (const s of plan.slots) g.input(s.name, 'float32', s.shape);
  for (const gr of plan.groups) g.input(`lr.${gr.name}`, 'float32', []);
  const upd = emitOptimizerUpdate(g, opt, plan, { param: (n) => `param.${n}`, grad: (n) => `grad.${n}`, slot: (n) => n, lr: (gr) => `lr.${gr}`, t });
  for (const [k, v] of upd) g.output(v, `${k}_new`);
  const sess = await createSession(g);
  const rng = new Rng(7);
  const state = new Map<string, Float32Array>();
  const refState = new Map<string, { p: number[]; slots: Record<string, number[]> }>();
  for (const [n, s] of Object.entries(shapes)) {
    const p = Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
    state.set(`param.${n}`, p);
    refState.set(n, { p: Array.from(p), slots: {} });
  }
  for (const s of plan.slots) {
    state.set(s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)));
    refState.get(s.param)!.slots[s.slot] = Array(s.shape.reduce((a, b) => a * b, 1)).fill(0);
  }
  const groupOf = (n: string) => plan.groups.find((gr) => gr.params.includes(n))!.name;
  for (let step = 1; step <= 5; step++) {
    const feeds: Record<string, ReturnType<typeof toOrt>> = { t: toOrt({ dtype: 'float32', shape: [], data: Float32Array.of(step) }) };
    for (const gr of plan.groups) feeds[`lr.${gr.name}`] = toOrt({ dtype: 'float32', shape: [], data: Float32Array.of(lrs[gr.name]?.[step - 1] ?? gr.hp.lr) });
    for (const [k, v] of state) feeds[k] = toOrt({ dtype: 'float32', shape: k.startsWith('param.') || k.startsWith('opt.') ? shapes[k.replace(/^(param|opt\.[a-z_]+)\./, '')] : [], data: v });
    const grads = new Map<string, Float32Array>();
    for (const [n, s] of Object.entries(shapes)) {
      const gr = Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.uniform(-2, 2));
      grads.set(n, gr);
      feeds[`grad.${n}`] = toOrt({ dtype: 'float32', shape: s, data: gr });
    }
    const out = await sess.run(feeds);
    for (const k of state.keys()) if (out[`${k}_new`]) state.set(k, fromOrt(out[`${k}_new`]).data as Float32Array);
    for (const [n, rs] of refState) {
      const grp = groupOf(n);
      const lr = Math.fround(lrs[grp]?.[step - 1] ?? plan.groups.find((x) => x.name === grp)!.hp.lr);
      rs.p = ref(grp)(rs.p, Array.from(grads.get(n)!), rs.slots, step, lr);
      const got = state.get(`param.${n}`)!;
      rs.p.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(2e-6 + 2e-5 * Math.abs(v)));
      for (const [slot, vals] of Object.entries(rs.slots)) {
        const gs = state.get(`opt.${slot}.${n}`)!;
        vals.forEach((v, i) => expect(Math.abs(gs[i] - v)).toBeLessThan(2e-6 + 2e-5 * Math.abs(v)));
      }
    }
  }
  await sess.release();
  return plan;
}

function sgdRef(mu: number, tau: number, nesterov: boolean, wd: number): Ref {
  return (p, grad, st, t, lr) => p.map((pi, i) => {
    let d = grad[i] + wd * pi;
    if (mu !== 0) {
      const b = t === 1 ? d : mu * st.momentum_buffer[i] + (1 - tau) * d;
      st.momentum_buffer[i] = b;
      d = nesterov ? d + mu * b : b;
    }
    return pi - lr * d;
  });
}

function adamwRef(b1: number, b2: number, eps: number, wd: number): Ref {
  return (p, grad, st, t, lr) => p.map((pi, i) => {
    const q = pi * (1 - lr * wd);
    st.m[i] = b1 * st.m[i] + (1 - b1) * grad[i];
    st.v[i] = b2 * st.v[i] + (1 - b2) * grad[i] * grad[i];
    const mh = st.m[i] / (1 - b1 ** t), vh = st.v[i] / (1 - b2 ** t);
    return q - lr * mh / (Math.sqrt(vh) + eps);
  });
}

describe('SGD matches torch.optim.SGD formulas', () => {
  it('plain', async () => { await compare(new SGD({ lr: 0.1 }), () => sgdRef(0, 0, false, 0)); });
  it('momentum + dampening + weight decay (first step buf = g)', async () => {
    await compare(new SGD({ lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }), () => sgdRef(0.9, 0.3, false, 0.01));
  });
  it('nesterov', async () => { await compare(new SGD({ lr: 0.05, momentum: 0.8, nesterov: true }), () => sgdRef(0.8, 0, true, 0)); });
  it('rejects nesterov without momentum', () => { expect(() => new SGD({ lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum/); });
});

describe('AdamW matches torch.optim.AdamW formulas', () => {
  it('defaults (wd 0.01) with a changing lr input', async () => {
    await compare(new AdamW({ lr: 1e-2 }), () => adamwRef(0.9, 0.999, 1e-8, 0.01), [], { default: [1e-2, 5e-3, 2e-2, 1e-3, 1e-2] });
  });
  it('per-group lr and weight decay (backbone vs head)', async () => {
    const plan = await compare(new AdamW({ lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
      (grp) => adamwRef(0.8, 0.99, 1e-6, grp === 'backbone' ? 0 : 0.1),
      [{ name: 'backbone', params: 'a.*', lr: 1e-3, weightDecay: 0 }]);
    expect(plan.groups.map((g) => [g.name, g.params])).toEqual([['backbone', ['a.w']], ['default', ['b.w']]]);
  });
  it('bad group settings are named', () => {
    const opt = new AdamW({ lr: 1 });
    expect(() => planOptimizer(opt, [{ name: 'x', shape: [1], dtype: 'float32' }], [{ name: 'bb', params: 'backbone.*' }])).toThrow(/"bb".*matches no trainable parameter/);
    expect(() => planOptimizer(opt, [{ name: 'x', shape: [1], dtype: 'float32' }], [{ name: 'bb', params: 'x', momentum: 0.9 }])).toThrow(/no hyper-parameter "momentum"/);
  });
});
