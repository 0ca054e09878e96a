// Which local checkpoints the store must hold: the newest, the best (by the run's keep-best rule)
// and every permanent one. A backup compares them with the store's index when it starts (and
// uploads what is missing: a process killed before its new best was uploaded must not leave
// Drive's best an older one for good) and when a run ends (to name what is not backed up).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, parseManifest } from '../checkpoint/manifest.js';
import { CHECKPOINTS_DIR } from '../checkpoint/metadata.js';
import { byStep, findBest, newestOf, type CheckpointOptions } from '../checkpoint/policy.js';
import type { CheckpointKind } from '../checkpoint/manifest.js';

export interface LocalCheckpoint {
  name: string;
  dir: string;
  kind: CheckpointKind;
  epoch: number;
  globalStep: number;
  metrics: Record<string, number>;
  created: string;
}

export interface DueCheckpoint extends LocalCheckpoint {
  /** why the store must have it */
  why: 'newest' | 'best' | 'permanent';
}

/** The run's checkpoints with a readable manifest (hidden staging folders skipped), oldest first. */
export async function localCheckpoints(runDir: string): Promise<LocalCheckpoint[]> {
  const root = path.join(runDir, CHECKPOINTS_DIR);
  const out: LocalCheckpoint[] = [];
  for (const name of await fsp.readdir(root).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue;
    const dir = path.join(root, name);
    try {
      const m = parseManifest(JSON.parse(await fsp.readFile(path.join(dir, MANIFEST_FILE), 'utf8')), dir);
      out.push({ name, dir, kind: m.kind, epoch: m.epoch, globalStep: m.globalStep, metrics: m.metrics, created: m.created });
    } catch {
      // not a checkpoint, or damaged: resume skips it too
    }
  }
  return out.sort(byStep);
}

/** The newest, the best and the permanent ones among `list` (each once; newest first). */
export function keptCheckpoints(list: readonly LocalCheckpoint[], keep: Pick<CheckpointOptions['keep'], 'best'> | undefined): DueCheckpoint[] {
  const out: DueCheckpoint[] = [];
  const add = (c: LocalCheckpoint | null, why: DueCheckpoint['why']) => {
    if (c && !out.some((o) => o.name === c.name)) out.push({ ...c, why });
  };
  add(newestOf(list), 'newest');
  add(findBest(list, keep?.best), 'best');
  for (const c of [...list].reverse()) if (c.kind === 'permanent') add(c, 'permanent');
  return out;
}

/** The kept checkpoints whose names the store's index lacks. */
export function missingOnStore(list: readonly LocalCheckpoint[], keep: Pick<CheckpointOptions['keep'], 'best'> | undefined, stored: Iterable<string>): DueCheckpoint[] {
  const have = new Set(stored);
  return keptCheckpoints(list, keep).filter((c) => !have.has(c.name));
}
