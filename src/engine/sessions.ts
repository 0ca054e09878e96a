// The engine's onnxruntime sessions: one per (kind, batch size, fed by index), built on first use
// from the train-step or eval graph, lowered for the device; besides the main batch size, at most
// MAX_EXTRA_SIZES last-batch sizes are kept per kind. Profiles each session when asked.
import * as ort from 'onnxruntime-node';
import type { Graph } from '../onnx/graph.js';
import { lowerGraph } from '../onnx/lower/index.js';
import { encodeModel } from '../onnx/model.js';
import type { Backend, SessionTuning } from './backend.js';
import type { DeviceData } from './device-data.js';
import { buildEvalGraph, buildTrainGraph, type GraphSpec, type StatePlan } from './graphs.js';
import { formatProfile, SessionProfiler, type SessionProfile } from './profile.js';

export type SessionKind = 'train' | 'eval' | 'predict';

export interface Compiled {
  session: ort.InferenceSession;
  /** The (lowered) model and options the session was made from, for placement checks. */
  model: Uint8Array;
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** Batch inputs the lowered graph reads as int32 (int64 on the host: WebGPU). */
  int32Inputs: Set<string>;
  metrics: string[];
  updated: string[];
  state: string[];
  inputs: string[];
  outputs: string[];
  /** profileFilePrefix when profiling. */
  profile?: string;
}

/** Last-batch sessions kept per size besides the main one. */
const MAX_EXTRA_SIZES = 4;

export class EngineSessions {
  private readonly sessions = new Map<string, Compiled>();
  private readonly profiler?: SessionProfiler;

  constructor(
    private readonly spec: GraphSpec,
    private readonly plan: StatePlan,
    private readonly backend: Backend,
    private readonly mainBatch: number,
    private readonly tuning: SessionTuning,
    profile?: string,
  ) {
    this.profiler = SessionProfiler.open(profile);
  }

  /** The session of `kind` for batch size `b`; `data`: fed by index from that dataset. */
  async get(kind: SessionKind, b: number, data?: DeviceData): Promise<Compiled> {
    const kk = data ? `${kind}@idx` : kind;
    const key = `${kk}:${b}`;
    const hit = this.sessions.get(key);
    if (hit) return hit;
    if (b !== this.mainBatch) {
      const extra = [...this.sessions.keys()].filter((k) => k.startsWith(`${kk}:`) && k !== `${kk}:${this.mainBatch}`);
      if (extra.length >= MAX_EXTRA_SIZES) { // drop the oldest last-batch session of this kind
        this.endProfile(extra[0]);
        await this.sessions.get(extra[0])!.session.release();
        this.sessions.delete(extra[0]);
      }
    }
    const source = data ? data.source.bind(data) : undefined;
    let c: Omit<Compiled, 'session' | 'int32Inputs' | 'model' | 'sessionOptions'>;
    let graph: Graph;
    if (kind === 'train') {
      const t = buildTrainGraph(this.spec, this.plan, b, source);
      graph = t.graph;
      c = { metrics: t.metrics, updated: t.updated, state: this.plan.decls.map((d) => d.name), inputs: this.plan.batchInputs, outputs: t.graph.outputs };
    } else {
      const e = buildEvalGraph(this.spec, this.plan, b, { withLoss: kind === 'eval', source });
      graph = e.graph;
      c = { metrics: e.metrics, updated: [], state: e.state, inputs: e.inputs, outputs: e.outputs };
    }
    const lowered = lowerGraph(graph, this.backend.lowering ?? this.backend.device);
    const bytes = encodeModel(graph);
    const deviceOutputs = new Set(c.updated.map((n) => `${n}_new`));
    const outs = kind === 'train' ? [...c.metrics, ...deviceOutputs] : kind === 'eval' ? c.metrics : c.outputs;
    const prof = this.profiler?.options(`${kk}-b${b}`);
    const sessionOptions = { ...this.backend.sessionOptions(outs, deviceOutputs, this.tuning), ...prof };
    const session = await ort.InferenceSession.create(bytes, sessionOptions);
    const compiled = { ...c, session, model: bytes, sessionOptions, int32Inputs: new Set(lowered.int32Inputs), profile: prof?.profileFilePrefix };
    this.sessions.set(key, compiled);
    return compiled;
  }

  /** Metric outputs of the first session built whose key starts with `prefix` (e.g. 'train'). */
  metricsOf(prefix: string): readonly string[] | undefined {
    return [...this.sessions].find(([k]) => k.startsWith(prefix))?.[1].metrics;
  }

  /** The models of the sessions built so far (`train:32`, `eval@idx:32`, …), as lowered for the device. */
  models(): { name: string; model: Uint8Array; options: ort.InferenceSession.SessionOptions }[] {
    return [...this.sessions].map(([name, c]) => ({ name, model: c.model, options: c.sessionOptions }));
  }

  /** Ends profiling of every open session and returns the profiles of all sessions so far. */
  endProfiling(): SessionProfile[] {
    for (const key of this.sessions.keys()) this.endProfile(key);
    this.profiler?.takeNew();
    return [...(this.profiler?.profiles ?? [])];
  }

  /** Releases every session, first printing the profiles not handed out yet. */
  async release(log: (msg: string) => void): Promise<void> {
    for (const key of this.sessions.keys()) this.endProfile(key);
    for (const p of this.profiler?.takeNew() ?? []) {
      log(`drivetrain profile: ${p.session} session, ${p.file}\n${formatProfile(p.summary)}`);
    }
    for (const c of this.sessions.values()) await c.session.release();
    this.sessions.clear();
  }

  private endProfile(key: string): void {
    const c = this.sessions.get(key);
    if (!c?.profile) return;
    this.profiler!.end(key, c.session, c.profile);
    c.profile = undefined;
  }
}
