// A run's metrics log: one JSON object per line (`metrics.jsonl` in the run directory).
// Written by the trainer through this tiny sink; on resume, lines past the resumed global step
// (written after the checkpoint by the lost process) are dropped so the log matches the state.
import fs from 'node:fs';
import path from 'node:path';

export interface MetricsRecord {
  type: 'step' | 'epoch';
  epoch: number;
  globalStep: number;
  time: string;
  [key: string]: unknown;
}

export class MetricsLog {
  readonly file: string;
  constructor(runDir: string, name = 'metrics.jsonl') {
    this.file = path.join(runDir, name);
  }

  /** Keep only records with globalStep ≤ `globalStep` (steps) / < for epoch ends past it. */
  truncateAfter(globalStep: number): void {
    if (!fs.existsSync(this.file)) return;
    const keep = fs.readFileSync(this.file, 'utf8').split('\n').filter((l) => {
      if (!l.trim()) return false;
      try { return (JSON.parse(l) as MetricsRecord).globalStep <= globalStep; } catch { return false; }
    });
    fs.writeFileSync(this.file, keep.map((l) => l + '\n').join(''));
  }

  append(rec: MetricsRecord): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.appendFileSync(this.file, JSON.stringify(rec) + '\n');
    } catch (e) {
      const full = ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '');
      throw new Error(`cannot append to the metrics log ${this.file}: ${(e as Error).message}${full ? '. The disk is full: free space (e.g. drivetrain clean-checkpoints), then run the same command again to resume from the last checkpoint' : ''}`, { cause: e });
    }
  }

  /**
   * Per-epoch records ({ epoch, globalStep, values, time }), one per epoch (the last line wins:
   * a run killed after an epoch's line and resumed before it writes that epoch again).
   */
  epochs(): { epoch: number; globalStep: number; values: Record<string, number | null>; time: string }[] {
    const byEpoch = new Map<number, { epoch: number; globalStep: number; values: Record<string, number | null>; time: string }>();
    for (const r of this.readSafely()) {
      if (r.type !== 'epoch') continue;
      const values: Record<string, number | null> = {};
      for (const [k, v] of Object.entries(r)) {
        if (k === 'epoch' || k === 'globalStep') continue;
        if (typeof v === 'number') values[k] = v;
        else if (v === null) values[k] = null; // a NaN/Inf metric (tslab's TypeScript 5.0 narrows no `unknown` by `=== null`)
      }
      byEpoch.set(r.epoch, { epoch: r.epoch, globalStep: r.globalStep, values, time: r.time });
    }
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }

  /** The records, skipping a line cut short by a kill. */
  private readSafely(): MetricsRecord[] {
    if (!fs.existsSync(this.file)) return [];
    const out: MetricsRecord[] = [];
    for (const l of fs.readFileSync(this.file, 'utf8').split('\n')) {
      if (!l.trim()) continue;
      try { out.push(JSON.parse(l) as MetricsRecord); } catch { /* a partial last line */ }
    }
    return out;
  }

  read(): MetricsRecord[] {
    if (!fs.existsSync(this.file)) return [];
    return fs.readFileSync(this.file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricsRecord);
  }
}
