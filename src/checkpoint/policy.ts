// When to save (save policies) and what to keep (keep policy) are separate. Save policies look
// at training events; the keep policy looks at the list of durable checkpoints.
import { z } from 'zod';
import type { CheckpointKind } from './manifest.js';

export interface CheckpointEvent {
  /** At epochEnd: the number of epochs completed so far (first epoch end: 1). Else the current epoch. */
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  metrics?: Record<string, number>;
  /** ms since epoch; defaults to Date.now() */
  now?: number;
  epochEnd: boolean;
  /** the user asked for a checkpoint now */
  demand?: boolean;
}

export interface SaveDecision {
  kind: CheckpointKind;
  /** fixed directory name (permanent: `epoch-010`); otherwise the manager derives one */
  name?: string;
  metrics?: Record<string, number>;
}

export interface SaveContext {
  lastSaveTime: number | null;
  lastSaveStep: number | null;
  signalPending: boolean;
  demandPending: boolean;
}

export interface SavePolicy {
  decide(ev: CheckpointEvent, ctx: SaveContext): SaveDecision | null;
}

const PRIORITY: Record<CheckpointKind, number> = { permanent: 7, last: 6, best: 5, signal: 4, manual: 3, timed: 2, recovery: 1 };

export const savePolicies = {
  /** `last` at every epoch end */
  everyEpoch: (): SavePolicy => ({ decide: (ev) => (ev.epochEnd ? { kind: 'last' } : null) }),
  /** `recovery` every N global steps (mid-epoch) */
  everySteps: (n: number): SavePolicy => ({ decide: (ev) => (ev.globalStep > 0 && ev.globalStep % n === 0 ? { kind: 'recovery' } : null) }),
  /** `timed` when T seconds passed since the last save (or since the manager opened) */
  everySeconds: (t: number, start = Date.now()): SavePolicy => ({
    decide: (ev, ctx) => ((ev.now ?? Date.now()) - (ctx.lastSaveTime ?? start) >= t * 1000 ? { kind: 'timed' } : null),
  }),
  /** `permanent` (name epoch-010) every K epoch ends; never rotated away */
  permanentEvery: (k: number): SavePolicy => ({
    decide: (ev) => (ev.epochEnd && ev.epoch > 0 && ev.epoch % k === 0 ? { kind: 'permanent', name: `epoch-${String(ev.epoch).padStart(3, '0')}` } : null),
  }),
  onDemand: (): SavePolicy => ({ decide: (ev, ctx) => (ev.demand || ctx.demandPending ? { kind: 'manual' } : null) }),
  onSignal: (): SavePolicy => ({ decide: (_ev, ctx) => (ctx.signalPending ? { kind: 'signal' } : null) }),
};

/** The highest-priority decision of all policies (one checkpoint per event). */
export function combineSavePolicies(policies: SavePolicy[]): SavePolicy {
  return {
    decide(ev, ctx) {
      let best: SaveDecision | null = null;
      for (const p of policies) {
        const d = p.decide(ev, ctx);
        if (d && (!best || PRIORITY[d.kind] > PRIORITY[best.kind])) best = d;
      }
      return best && ev.metrics && !best.metrics ? { ...best, metrics: ev.metrics } : best;
    },
  };
}

export const BestOptionsSchema = z.object({
  monitor: z.string().min(1),
  mode: z.enum(['min', 'max']).default('min'),
  minDelta: z.number().nonnegative().default(0),
});

export const CheckpointOptionsSchema = z.object({
  save: z.object({
    everyEpoch: z.boolean().default(true),
    everySteps: z.number().int().positive().optional(),
    everySeconds: z.number().positive().optional(),
    permanentEveryEpochs: z.number().int().positive().optional(),
    onDemand: z.boolean().default(true),
    onSignal: z.boolean().default(true),
  }).strict().default({ everyEpoch: true, onDemand: true, onSignal: true }),
  keep: z.object({
    /** rotating checkpoints (last/timed/manual/signal) kept */
    lastN: z.number().int().min(1).default(3),
    /** recovery checkpoints kept (they also go once an epoch-end checkpoint at a later step is durable) */
    recoveryN: z.number().int().min(1).default(1),
    best: BestOptionsSchema.optional(),
  }).strict().default({ lastN: 3, recoveryN: 1 }),
  /** refuse (before writing) a save that cannot fit after deleting old rotating checkpoints */
  diskCapBytes: z.number().int().positive().optional(),
  /** default snapshot mode of save(): false = copy the bytes, true = take ownership */
  transfer: z.boolean().default(false),
}).strict();

export type CheckpointOptions = z.output<typeof CheckpointOptionsSchema>;
export type CheckpointOptionsInput = z.input<typeof CheckpointOptionsSchema>;
export type BestOptions = z.output<typeof BestOptionsSchema>;

export function savePolicyFromOptions(o: CheckpointOptions['save'], start = Date.now()): SavePolicy {
  const ps: SavePolicy[] = [];
  if (o.everyEpoch) ps.push(savePolicies.everyEpoch());
  if (o.everySteps) ps.push(savePolicies.everySteps(o.everySteps));
  if (o.everySeconds) ps.push(savePolicies.everySeconds(o.everySeconds, start));
  if (o.permanentEveryEpochs) ps.push(savePolicies.permanentEvery(o.permanentEveryEpochs));
  if (o.onDemand) ps.push(savePolicies.onDemand());
  if (o.onSignal) ps.push(savePolicies.onSignal());
  return combineSavePolicies(ps);
}

/** What the keep policy needs to know about a durable checkpoint. */
export interface KeptCheckpoint {
  name: string;
  kind: CheckpointKind;
  globalStep: number;
  created: string;
  metrics: Record<string, number>;
}

export function isImprovement(value: number, best: number | null, o: BestOptions): boolean {
  if (best === null) return true;
  return o.mode === 'min' ? value < best - o.minDelta : value > best + o.minDelta;
}

/** The best checkpoint by `o`, scanning in step order (first to reach a value wins ties). */
export function findBest<T extends KeptCheckpoint>(list: readonly T[], o: BestOptions | undefined): T | null {
  if (!o) return null;
  let best: T | null = null;
  for (const c of [...list].sort(byStep)) {
    const v = c.metrics[o.monitor];
    if (typeof v === 'number' && Number.isFinite(v) && isImprovement(v, best ? best.metrics[o.monitor] : null, o)) best = c;
  }
  return best;
}

export const byStep = (a: KeptCheckpoint, b: KeptCheckpoint) => a.globalStep - b.globalStep || (a.created < b.created ? -1 : a.created > b.created ? 1 : 0);

export function newestOf<T extends KeptCheckpoint>(list: readonly T[]): T | null {
  return list.length ? [...list].sort(byStep)[list.length - 1] : null;
}

/**
 * Names to delete. Never: the newest, the best, permanent ones. Recovery checkpoints go once an
 * epoch-end (last/best/permanent) checkpoint at a step >= theirs exists, and beyond the newest
 * `recoveryN`; other rotating kinds beyond the newest `lastN`.
 */
export function selectDeletions(list: readonly KeptCheckpoint[], keep: CheckpointOptions['keep']): string[] {
  const newest = newestOf(list);
  const best = findBest(list, keep.best);
  const protectedNames = new Set([newest?.name, best?.name].filter((x): x is string => !!x));
  const sorted = [...list].sort(byStep).reverse(); // newest first
  const lastEpochEnd = Math.max(-1, ...list.filter((c) => c.kind === 'last' || c.kind === 'permanent' || c.kind === 'best').map((c) => c.globalStep));
  const out: string[] = [];
  let rec = 0;
  let rot = 0;
  for (const c of sorted) {
    if (c.kind === 'permanent') continue;
    if (c.kind === 'recovery') {
      rec++;
      if ((c.globalStep <= lastEpochEnd || rec > keep.recoveryN) && !protectedNames.has(c.name)) out.push(c.name);
    } else {
      rot++;
      if (rot > keep.lastN && !protectedNames.has(c.name)) out.push(c.name);
    }
  }
  return out;
}
