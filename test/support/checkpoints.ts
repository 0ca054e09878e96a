// Real checkpoints (via the checkpoint core) for backup tests: a frozen "backbone" and a changing "head".
import { CheckpointManager, type DurableEvent } from '../../src/checkpoint/index.js';
import { tensor, type TensorMap } from '../../src/tensor.js';

export function makeTensors(backboneFloats: number, headFloats: number, step: number, seed = 1): TensorMap {
  const m: TensorMap = new Map();
  const bb = new Float32Array(backboneFloats);
  for (let i = 0; i < bb.length; i++) bb[i] = Math.sin(i * 0.001 + seed); // fixed across steps
  const head = new Float32Array(headFloats);
  for (let i = 0; i < head.length; i++) head[i] = Math.cos(i * 0.01 + step * 0.37 + seed);
  const mom = new Float32Array(headFloats);
  for (let i = 0; i < mom.length; i++) mom[i] = step * 1e-3 + i * 1e-6;
  m.set('param.backbone.w', tensor('param.backbone.w', 'float32', [backboneFloats], bb));
  m.set('param.head.w', tensor('param.head.w', 'float32', [headFloats], head));
  m.set('opt.m.head.w', tensor('opt.m.head.w', 'float32', [headFloats], mom));
  return m;
}

/** Save one checkpoint at `step` and wait until it is durable. */
export async function saveStep(mgr: CheckpointManager, step: number, o: { backbone?: number; head?: number; kind?: 'last' | 'permanent' | 'recovery'; metrics?: Record<string, number> } = {}): Promise<DurableEvent> {
  const h = mgr.save(o.kind ?? 'last', makeTensors(o.backbone ?? 50_000, o.head ?? 2_000, step), { epoch: step, stepInEpoch: 0, globalStep: step }, { metrics: o.metrics });
  return h.durable;
}
