// onnxruntime's own profiler (session options enableProfiling / profileFilePrefix) behind
// `DRIVETRAIN_PROFILE=dir` or the engine's `profile` option: each session writes a Chrome-trace
// JSON into dir when it ends; summarizeProfile() turns one into kernel time per step by op type,
// split by phase (forward / backward / optimizer, from drivetrain's node-name scopes).
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';

/** The profile folder asked for (option first, then DRIVETRAIN_PROFILE), or undefined. */
export function profileDir(option?: string): string | undefined {
  const dir = option ?? process.env.DRIVETRAIN_PROFILE;
  if (!dir) return undefined;
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new Error(`profile folder ${abs} cannot be created (${(e as Error).message}); set DRIVETRAIN_PROFILE (or --profile) to a writable folder`);
  }
  return abs;
}

/** The file ORT wrote for `prefix` (it appends `_<timestamp>.json`): the newest match. */
export function profileFileFor(prefix: string): string | undefined {
  const dir = dirname(prefix), base = `${basename(prefix)}_`;
  let best: { f: string; t: number } | undefined;
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(base) || !f.endsWith('.json')) continue;
    const t = statSync(join(dir, f)).mtimeMs;
    if (!best || t > best.t) best = { f: join(dir, f), t };
  }
  return best?.f;
}

export type Phase = 'forward' | 'backward' | 'optimizer';

export interface OpRow {
  op: string;
  phase: Phase;
  /** Kernel time per step, ms. */
  ms: number;
  nodes: number;
  /** The slowest node of this row and its ms/step. */
  top: { name: string; ms: number };
}

export interface ProfileSummary {
  /** Steps averaged (the first run, which plans memory, is left out when there are more). */
  steps: number;
  /** model_run wall time per step, ms. */
  runMs: number;
  /** Summed kernel time per step, ms. */
  kernelMs: number;
  rows: OpRow[];
}

interface TraceEvent { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } }

/** Forward / backward / optimizer, from the scopes the autodiff walker and optimizers give node names. */
export function phaseOf(node: string): Phase {
  if (node.startsWith('grad_')) return 'backward';
  if (/^(adamw|sgd|clip|gradnorm|step)[_/]/.test(node)) return 'optimizer';
  return 'forward';
}

export function summarizeProfile(events: TraceEvent[]): ProfileSummary {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts! - b.ts!);
  if (!runs.length) throw new Error('profile has no model_run events (was the session ever run?)');
  const kept = runs.length > 1 ? runs.slice(1) : runs;
  const from = kept[0].ts!;
  const steps = kept.length;
  const perNode = new Map<string, { op: string; us: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || e.ts! < from) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const cur = perNode.get(name) ?? { op: e.args?.op_name ?? '?', us: 0 };
    cur.us += e.dur ?? 0;
    perNode.set(name, cur);
  }
  const rows = new Map<string, OpRow>();
  for (const [name, { op, us }] of perNode) {
    const phase = phaseOf(name), ms = us / 1000 / steps, key = `${op}|${phase}`;
    const r = rows.get(key) ?? { op, phase, ms: 0, nodes: 0, top: { name, ms: 0 } };
    r.ms += ms;
    r.nodes++;
    if (ms > r.top.ms) r.top = { name, ms };
    rows.set(key, r);
  }
  const sorted = [...rows.values()].sort((a, b) => b.ms - a.ms);
  return {
    steps,
    runMs: kept.reduce((s, e) => s + (e.dur ?? 0), 0) / 1000 / steps,
    kernelMs: sorted.reduce((s, r) => s + r.ms, 0),
    rows: sorted,
  };
}

export function readProfile(file: string): ProfileSummary {
  let events: unknown;
  try {
    events = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read onnxruntime profile ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(events)) throw new Error(`onnxruntime profile ${file} is not a JSON array of trace events`);
  return summarizeProfile(events as TraceEvent[]);
}

/** A markdown table of the `top` slowest (op, phase) rows, as in the speed issues. */
export function formatProfile(s: ProfileSummary, top = 12): string {
  const lines = [
    `${s.steps} step(s): ${s.runMs.toFixed(1)} ms/step run time, ${s.kernelMs.toFixed(1)} ms/step kernel time`,
    '| op | phase | ms/step | share | nodes | slowest node |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of s.rows.slice(0, top)) {
    const share = s.kernelMs > 0 ? (100 * r.ms) / s.kernelMs : 0;
    lines.push(`| ${r.op} | ${r.phase} | ${r.ms.toFixed(2)} | ${share.toFixed(0)} % | ${r.nodes} | ${r.top.name} ${r.top.ms.toFixed(2)} |`);
  }
  const rest = s.rows.slice(top);
  if (rest.length) lines.push(`| (${rest.length} more) | | ${rest.reduce((a, r) => a + r.ms, 0).toFixed(2)} | | | |`);
  return lines.join('\n');
}

/** One session's profile: what ran, the trace file ORT wrote, and kernel time per step by op. */
export interface SessionProfile {
  session: string;
  file: string;
  summary: ProfileSummary;
}

/** Numbers profiled sessions within the process. */
let profileSeq = 0;

/** The engine's side of profiling: per-session options, and the summaries of ended sessions. */
export class SessionProfiler {
  readonly profiles: SessionProfile[] = [];
  /** Profiles already handed out or printed. */
  private reported = 0;
  private constructor(readonly dir: string) {}

  /** A profiler when `option` or DRIVETRAIN_PROFILE names a folder, else undefined. */
  static open(option?: string): SessionProfiler | undefined {
    const dir = profileDir(option);
    return dir ? new SessionProfiler(dir) : undefined;
  }

  /** Session options that profile into this folder; the prefix is what end() needs back. */
  options(name: string): { enableProfiling: true; profileFilePrefix: string } {
    // pid + a counter: ORT names files by prefix and the second, so sessions must not share a prefix
    return { enableProfiling: true, profileFilePrefix: join(this.dir, `${name.replace(/[^\w-]/g, '-')}-p${process.pid}-${++profileSeq}`) };
  }

  /** Ends profiling of `session` and reads its trace (a session that never ran adds nothing). */
  end(name: string, session: InferenceSession, prefix: string): void {
    session.endProfiling();
    const file = profileFileFor(prefix);
    if (!file) return;
    try {
      this.profiles.push({ session: name, file, summary: readProfile(file) });
    } catch { /* no model_run events: never ran */ }
  }

  /** Profiles not handed out yet, marking them handed out. */
  takeNew(): SessionProfile[] {
    const fresh = this.profiles.slice(this.reported);
    this.reported = this.profiles.length;
    return fresh;
  }
}
