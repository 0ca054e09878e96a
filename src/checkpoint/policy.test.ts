import { describe, expect, it } from 'vitest';
import type { CheckpointKind } from './manifest.js';
import { CheckpointOptionsSchema, findBest, savePolicyFromOptions, selectDeletions, type KeptCheckpoint } from './policy.js';

const ctx = { lastSaveTime: null, lastSaveStep: null, signalPending: false, demandPending: false };

describe('save policies', () => {
  it('picks one kind per event by priority', () => {
    const o = CheckpointOptionsSchema.parse({ save: { everySteps: 10, permanentEveryEpochs: 2 } });
    const p = savePolicyFromOptions(o.save);
    expect(p.decide({ epoch: 0, stepInEpoch: 3, globalStep: 3, epochEnd: false }, ctx)).toBeNull();
    expect(p.decide({ epoch: 0, stepInEpoch: 10, globalStep: 10, epochEnd: false }, ctx)?.kind).toBe('recovery');
    expect(p.decide({ epoch: 1, stepInEpoch: 0, globalStep: 20, epochEnd: true }, ctx)?.kind).toBe('last');
    expect(p.decide({ epoch: 2, stepInEpoch: 0, globalStep: 40, epochEnd: true, metrics: { v: 1 } }, ctx)).toEqual({ kind: 'permanent', name: 'epoch-002', metrics: { v: 1 } });
    expect(p.decide({ epoch: 0, stepInEpoch: 3, globalStep: 3, epochEnd: false }, { ...ctx, signalPending: true })?.kind).toBe('signal');
    expect(p.decide({ epoch: 0, stepInEpoch: 3, globalStep: 3, epochEnd: false, demand: true }, ctx)?.kind).toBe('manual');
  });

  it('timed saves after T seconds since the last save', () => {
    const p = savePolicyFromOptions(CheckpointOptionsSchema.parse({ save: { everyEpoch: false, everySeconds: 60 } }).save, 0);
    expect(p.decide({ epoch: 0, stepInEpoch: 1, globalStep: 1, epochEnd: false, now: 59_000 }, ctx)).toBeNull();
    expect(p.decide({ epoch: 0, stepInEpoch: 1, globalStep: 1, epochEnd: false, now: 60_000 }, ctx)?.kind).toBe('timed');
    expect(p.decide({ epoch: 0, stepInEpoch: 1, globalStep: 1, epochEnd: false, now: 100_000 }, { ...ctx, lastSaveTime: 50_000 })).toBeNull();
  });

  it('options are validated', () => {
    expect(() => CheckpointOptionsSchema.parse({ keep: { lastN: 0 } })).toThrow();
    expect(() => CheckpointOptionsSchema.parse({ save: { everyStep: 3 } })).toThrow(/everyStep/);
  });
});

describe('keep policy', () => {
  const c = (name: string, kind: CheckpointKind, globalStep: number, metrics: Record<string, number> = {}): KeptCheckpoint => ({ name, kind, globalStep, created: `t${String(globalStep).padStart(6, '0')}`, metrics });
  const keep = (lastN: number, best?: { monitor: string; mode: 'min' | 'max'; minDelta: number }) => ({ lastN, recoveryN: 1, best });

  it('rotates last-N, keeps best and permanent, drops recovery covered by an epoch end', () => {
    const list = [c('a', 'last', 10, { v: 1 }), c('b', 'last', 20, { v: 3 }), c('p', 'permanent', 30, { v: 4 }), c('r1', 'recovery', 35), c('d', 'last', 40, { v: 5 }), c('r2', 'recovery', 45), c('r3', 'recovery', 47)];
    expect(selectDeletions(list, keep(1, { monitor: 'v', mode: 'min', minDelta: 0 })).sort()).toEqual(['b', 'r1', 'r2']);
    expect(selectDeletions(list, keep(1, { monitor: 'v', mode: 'max', minDelta: 0 })).sort()).toEqual(['a', 'b', 'r1', 'r2']);
  });

  it('min_delta: a change smaller than it is not an improvement', () => {
    const list = [c('a', 'last', 1, { v: 1 }), c('b', 'last', 2, { v: 0.95 })];
    expect(findBest(list, { monitor: 'v', mode: 'min', minDelta: 0.1 })?.name).toBe('a');
    expect(findBest(list, { monitor: 'v', mode: 'min', minDelta: 0.01 })?.name).toBe('b');
    expect(findBest([...list, c('d', 'last', 3, { v: 0.85 })], { monitor: 'v', mode: 'min', minDelta: 0.1 })?.name).toBe('d');
  });

  it('randomised: never deletes the newest or the best, never a permanent one', () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const kinds: CheckpointKind[] = ['last', 'recovery', 'timed', 'permanent', 'manual', 'signal'];
    for (let trial = 0; trial < 500; trial++) {
      const list: KeptCheckpoint[] = [];
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) list.push(c(`c${i}`, kinds[Math.floor(rnd() * kinds.length)], Math.floor(rnd() * 50), rnd() < 0.7 ? { v: Math.floor(rnd() * 10) } : {}));
      const best = { monitor: 'v', mode: (rnd() < 0.5 ? 'min' : 'max') as 'min' | 'max', minDelta: 0 };
      const del = new Set(selectDeletions(list, keep(1 + Math.floor(rnd() * 3), best)));
      const newest = [...list].sort((a, b) => a.globalStep - b.globalStep || (a.created < b.created ? -1 : 1)).at(-1)!;
      expect(del.has(newest.name)).toBe(false);
      const b = findBest(list, best);
      if (b) expect(del.has(b.name)).toBe(false);
      for (const x of list) if (x.kind === 'permanent') expect(del.has(x.name)).toBe(false);
    }
  });
});
