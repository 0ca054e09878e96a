// Progress events: the loop emits these; a terminal renderer or a notebook display consumes them.
export type Metrics = Record<string, number>;

export type TrainEvent =
  | { type: 'start'; runDir: string; epochs: number; stepsPerEpoch: number; startEpoch: number; stage?: string }
  | { type: 'resume'; epoch: number; stepInEpoch: number; globalStep: number; checkpoint: string; /** Set when the checkpoint was written on another device (e.g. webgpu → cpu). */ moved?: { from: string; to: string } }
  | { type: 'step'; epoch: number; epochs: number; stepInEpoch: number; stepsPerEpoch: number; globalStep: number; metrics: Metrics; lr: Record<string, number> }
  /** `metrics`: epoch means of the training metrics as `train_loss`, `cls_loss`, …, plus `val_*`. */
  | { type: 'epoch'; epoch: number; epochs: number; metrics: Metrics; seconds: number }
  /**
   * `saved`: handed to the checkpoint writer (not yet on disk); `durable`: committed, survives a
   * kill. `waitedMs` (on `saved`): how long the loop waited for the previous save to be durable.
   */
  | { type: 'checkpoint'; kind: string; epoch: number; globalStep: number; path: string; phase: 'saved' | 'durable'; waitedMs?: number }
  | { type: 'backup'; message: string; ok: boolean; globalStep?: number; /** The whole line to print, with its mark (✓ done, ✗ failed, … skipped). */ line?: string }
  | { type: 'earlyStop'; epoch: number; monitor: string; best: number | null; bestEpoch: number | null; patience: number }
  | { type: 'log'; message: string }
  | { type: 'done'; reason: DoneReason; epoch: number; globalStep: number; message: string }
  | { type: 'error'; message: string };

export const DONE_REASONS = ['completed', 'earlyStop', 'interrupted', 'nonFinite', 'alreadyDone'] as const;
export type DoneReason = (typeof DONE_REASONS)[number];

export type EventListener = (e: TrainEvent) => void;

/** Calls every listener; a listener that throws is reported on stderr and never stops training. */
export class Emitter {
  private readonly listeners: EventListener[] = [];
  constructor(...initial: (EventListener | undefined)[]) {
    for (const l of initial) if (l) this.listeners.push(l);
  }
  on(l: EventListener): () => void {
    this.listeners.push(l);
    return () => { const i = this.listeners.indexOf(l); if (i >= 0) this.listeners.splice(i, 1); };
  }
  emit(e: TrainEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch (err) { console.error(`progress listener failed on "${e.type}": ${(err as Error).message}`); }
    }
  }
}

/** `Epoch 1/15: train_loss=2.1234 cls_loss=1.2345 box_loss=0.8889 acc=0.4567 time=205.3s`. */
export function formatEpochLine(e: Extract<TrainEvent, { type: 'epoch' }>): string {
  // the users' order first: train_loss cls_loss box_loss acc, then the rest; val_* after train
  const rank = (k: string) => {
    const base = k.replace(/^val_/, '');
    const i = ['train_loss', 'loss', 'cls_loss', 'box_loss', 'acc'].indexOf(base);
    return (k.startsWith('val_') ? 100 : 0) + (i >= 0 ? i : 10);
  };
  const keys = Object.keys(e.metrics).sort((a, b) => rank(a) - rank(b));
  const parts = keys.map((k) => `${k}=${e.metrics[k].toFixed(4)}`);
  return `Epoch ${e.epoch + 1}/${e.epochs}: ${parts.join(' ')} time=${e.seconds.toFixed(1)}s`;
}
