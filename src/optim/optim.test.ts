// Optimizer update subgraphs vs the documented PyTorch formulas computed by hand in float64: every
// parameter and slot within 1e-6 relative (float32 can do that; the step scalars are host float64).
import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { createSession, fromOrt, toOrt } from '../onnx/session.js';
import { Rng } from '../random.js';
import { AdamW } from './adamw.js';
import { emitOptimizerUpdate, hostScalarValues, planOptimizer } from './apply.js';
import type { Optimizer, ParamGroup } from './optimizer.js';
import { SGD } from './sgd.js';

/**
 * A reference value in float64 and the scale its float32 rounding error is measured against: the
 * largest magnitude among the terms it is summed from (relative error of the result alone is
 * meaningless where terms cancel, e.g. a parameter stepping through 0).
 */
type Val = [value: number, scale: number];
type Ref = (p: number[], g: number[], slots: Record<string, number[]>, t: number, lr: number) => { p: Val[]; slots: Record<string, Val[]> };

const TOL = 1e-6;
const errOf = (got: number, [want, scale]: Val) => Math.abs(got - want) / Math.max(Math.abs(want), scale, 1e-30);

/**
 * Runs 5 updates of two parameters (groups a / b) through ONNX; each step, `ref` recomputes the
 * update in float64 from the graph's float32 state, and every output must be within TOL.
 */
async function compare(opt: Optimizer, ref: (group: string) => Ref, groups: ParamGroup[] = [], lrs: Record<string, number[]> = {}) {
  const shapes: Record<string, number[]> = { 'a.w': [3, 2], 'b.w': [4] };
  const plan = planOptimizer(opt, Object.entries(shapes).map(([name, shape]) => ({ name, shape, dtype: 'float32' })), groups);
  const g = new Graph('opt');
  const t = g.input('t', 'float32', []);
  for (const [n, sh] of Object.entries(shapes)) { g.input(`param.${n}`, 'float32', sh); g.input(`grad.${n}`, 'float32', sh); }
  for (const sl of plan.slots) g.input(sl.name, 'float32', sl.shape);
  for (const gr of plan.groups) g.input(`lr.${gr.name}`, 'float32', []);
  for (const h of plan.hostScalars) g.input(h.name, 'float32', []);
  const upd = emitOptimizerUpdate(g, opt, plan, { param: (n) => `param.${n}`, grad: (n) => `grad.${n}`, slot: (n) => n, lr: (gr) => `lr.${gr}`, t });
  for (const [k, v] of upd) g.output(v, `${k}_new`);
  const sess = await createSession(g);
  const rng = new Rng(7);
  const numel = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
  const state = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, sh] of Object.entries(shapes)) state.set(`param.${n}`, { shape: sh, data: Float32Array.from({ length: numel(sh) }, () => rng.uniform(-1, 1)) });
  for (const sl of plan.slots) state.set(sl.name, { shape: sl.shape, data: new Float32Array(numel(sl.shape)) });
  const groupOf = (n: string) => plan.groups.find((gr) => gr.params.includes(n))!.name;
  let worst = 0;
  for (let step = 1; step <= 5; step++) {
    const f32 = (x: number) => toOrt({ dtype: 'float32', shape: [], data: Float32Array.of(x) });
    const feeds: Record<string, ReturnType<typeof toOrt>> = { t: f32(step) };
    const lrNow = Object.fromEntries(plan.groups.map((gr) => [gr.name, lrs[gr.name]?.[step - 1] ?? gr.hp.lr]));
    for (const gr of plan.groups) feeds[`lr.${gr.name}`] = f32(lrNow[gr.name]);
    for (const [k, v] of Object.entries(hostScalarValues(opt, plan, lrNow, step))) feeds[k] = f32(v);
    for (const [k, v] of state) feeds[k] = toOrt({ dtype: 'float32', shape: v.shape, data: v.data });
    const grads = new Map<string, Float32Array>();
    for (const [n, sh] of Object.entries(shapes)) {
      grads.set(n, Float32Array.from({ length: numel(sh) }, () => rng.uniform(-2, 2)));
      feeds[`grad.${n}`] = toOrt({ dtype: 'float32', shape: sh, data: grads.get(n)! });
    }
    const out = await sess.run(feeds);
    for (const n of Object.keys(shapes)) {
      const grp = groupOf(n);
      const slotsBefore = Object.fromEntries(opt.slotNames(plan.groups.find((x) => x.name === grp)!.hp).map((sl) => [sl, Array.from(state.get(`opt.${sl}.${n}`)!.data)]));
      // lr as a Python float, as PyTorch has it
      const want = ref(grp)(Array.from(state.get(`param.${n}`)!.data), Array.from(grads.get(n)!), slotsBefore, step, lrNow[grp]);
      const check = (key: string, vals: Val[]) => {
        const got = fromOrt(out[`${key}_new`]).data as Float32Array;
        vals.forEach((v, i) => {
          const e = errOf(got[i], v);
          worst = Math.max(worst, e);
          expect(e, `${key}[${i}] step ${step}: got ${got[i]}, float64 ${v[0]}`).toBeLessThanOrEqual(TOL);
        });
        state.set(key, { shape: state.get(key)!.shape, data: got });
      };
      check(`param.${n}`, want.p);
      for (const [sl, vals] of Object.entries(want.slots)) check(`opt.${sl}.${n}`, vals);
    }
  }
  await sess.release();
  return { plan, worst };
}

function sgdRef(mu: number, tau: number, nesterov: boolean, wd: number): Ref {
  return (p, grad, st, t, lr) => {
    const outP: Val[] = [], buf: Val[] = [];
    p.forEach((pi, i) => {
      let d = grad[i] + wd * pi;
      let dScale = Math.max(Math.abs(grad[i]), Math.abs(wd * pi));
      if (mu !== 0) {
        const b = t === 1 ? d : mu * st.momentum_buffer[i] + (1 - tau) * d;
        const bScale = t === 1 ? dScale : Math.max(Math.abs(mu * st.momentum_buffer[i]), Math.abs((1 - tau) * d), dScale * (1 - tau));
        buf.push([b, bScale]);
        if (nesterov) { d = d + mu * b; dScale = Math.max(dScale, mu * bScale); } else { d = b; dScale = bScale; }
      }
      outP.push([pi - lr * d, Math.max(Math.abs(pi), lr * dScale)]);
    });
    const slots: Record<string, Val[]> = mu !== 0 ? { momentum_buffer: buf } : {};
    return { p: outP, slots };
  };
}

function adamwRef(b1: number, b2: number, eps: number, wd: number): Ref {
  return (p, grad, st, t, lr) => {
    const outP: Val[] = [], m: Val[] = [], v: Val[] = [];
    p.forEach((pi, i) => {
      const q = pi * (1 - lr * wd);
      const mi = b1 * st.m[i] + (1 - b1) * grad[i];
      const vi = b2 * st.v[i] + (1 - b2) * grad[i] * grad[i];
      m.push([mi, Math.max(Math.abs(st.m[i]), Math.abs((1 - b1) * grad[i]))]);
      v.push([vi, vi]);
      const step = (lr / (1 - b1 ** t)) * mi / (Math.sqrt(vi) / Math.sqrt(1 - b2 ** t) + eps);
      const stepScale = (lr / (1 - b1 ** t)) * m[i][1] / (Math.sqrt(vi) / Math.sqrt(1 - b2 ** t) + eps);
      outP.push([q - step, Math.max(Math.abs(q), stepScale)]);
    });
    return { p: outP, slots: { m, v } };
  };
}

/** Pure float64 AdamW on one element from p = 0 (no cancellation: p grows with every step). */
function adamw64(grads: number[], lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0): number[] {
  let p = 0, m = 0, v = 0;
  return grads.map((g, k) => {
    const t = k + 1;
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= (lr / (1 - b1 ** t)) * m / (Math.sqrt(v) / Math.sqrt(1 - b2 ** t) + eps);
    return p;
  });
}

/** AdamW on one parameter [n] from p = 0 through the graph; returns p after each step. */
async function adamwFromZero(opt: AdamW, grads: Float32Array[], lr: number): Promise<Float32Array[]> {
  const n = grads[0].length;
  const plan = planOptimizer(opt, [{ name: 'w', shape: [n], dtype: 'float32' }]);
  const g = new Graph('adam0');
  const t = g.input('t', 'float32', []);
  g.input('param.w', 'float32', [n]); g.input('grad.w', 'float32', [n]); g.input('lr.default', 'float32', []);
  for (const sl of plan.slots) g.input(sl.name, 'float32', [n]);
  for (const h of plan.hostScalars) g.input(h.name, 'float32', []);
  const upd = emitOptimizerUpdate(g, opt, plan, { param: (x) => `param.${x}`, grad: (x) => `grad.${x}`, slot: (x) => x, lr: (gr) => `lr.${gr}`, t });
  for (const [k, v] of upd) g.output(v, `${k}_new`);
  const sess = await createSession(g);
  const f32 = (x: number) => toOrt({ dtype: 'float32', shape: [], data: Float32Array.of(x) });
  const vec = (x: Float32Array) => toOrt({ dtype: 'float32', shape: [n], data: x });
  let st: Record<'p' | 'm' | 'v', Float32Array> = { p: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
  const out: Float32Array[] = [];
  for (let step = 1; step <= grads.length; step++) {
    const feeds: Record<string, ReturnType<typeof toOrt>> = { t: f32(step), 'lr.default': f32(lr), 'param.w': vec(st.p), 'grad.w': vec(grads[step - 1]), 'opt.m.w': vec(st.m), 'opt.v.w': vec(st.v) };
    for (const [k, v] of Object.entries(hostScalarValues(opt, plan, { default: lr }, step))) feeds[k] = f32(v);
    const r = await sess.run(feeds);
    st = { p: fromOrt(r['param.w_new']).data as Float32Array, m: fromOrt(r['opt.m.w_new']).data as Float32Array, v: fromOrt(r['opt.v.w_new']).data as Float32Array };
    out.push(st.p);
  }
  await sess.release();
  return out;
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
    const { plan } = await compare(new AdamW({ lr: 1e-2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
      (grp) => adamwRef(0.8, 0.99, 1e-6, grp === 'backbone' ? 0 : 0.1),
      [{ name: 'backbone', params: 'a.*', lr: 1e-3, weightDecay: 0 }]);
    expect(plan.groups.map((g) => [g.name, g.params])).toEqual([['backbone', ['a.w']], ['default', ['b.w']]]);
  });
  it('bias corrections in float64: p = 0, g = 1, lr 1e-3 gives torch 1.13\'s float32 steps bit for bit', async () => {
    const ps = await adamwFromZero(new AdamW({ lr: 1e-3, weightDecay: 0 }), [Float32Array.of(1), Float32Array.of(1), Float32Array.of(1)], 1e-3);
    // torch.optim.AdamW([p], lr=1e-3, weight_decay=0), p = zeros(1), p.grad = ones(1), three steps
    // (with 1 − β^t in float32 they were −0.00099999341, −0.00199998333: 6.6e-6 relative too small)
    expect(ps.map((p) => p[0])).toEqual([-0.0009999999310821295, -0.001999999862164259, -0.003000000026077032]);
  });

  it('20 steps from p = 0 stay within 1e-6 relative of float64 AdamW (wd 0 and 0.01)', async () => {
    const rng = new Rng(3);
    const grads = Array.from({ length: 20 }, () => Float32Array.from({ length: 64 }, () => rng.uniform(0.1, 2)));
    for (const wd of [0, 0.01]) {
      const ps = await adamwFromZero(new AdamW({ lr: 1e-3, weightDecay: wd }), grads, 1e-3);
      let worst = 0;
      for (let i = 0; i < 64; i++) {
        const ref = adamw64(grads.map((gr) => gr[i]), 1e-3, 0.9, 0.999, 1e-8, wd);
        ref.forEach((r, k) => { worst = Math.max(worst, Math.abs(ps[k][i] - r) / Math.abs(r)); });
      }
      expect(worst, `wd ${wd}`).toBeLessThanOrEqual(1e-6);
    }
  });

  it('bad group settings are named', () => {
    const opt = new AdamW({ lr: 1 });
    expect(() => planOptimizer(opt, [{ name: 'x', shape: [1], dtype: 'float32' }], [{ name: 'bb', params: 'backbone.*' }])).toThrow(/"bb".*matches no trainable parameter/);
    expect(() => planOptimizer(opt, [{ name: 'x', shape: [1], dtype: 'float32' }], [{ name: 'bb', params: 'x', momentum: 0.9 }])).toThrow(/no hyper-parameter "momentum"/);
  });
});
