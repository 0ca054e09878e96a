// Terminal rendering of training events: a cli-progress bar within each epoch (TTY only) and
// the familiar per-epoch lines.
import cliProgress from 'cli-progress';
import { formatEpochLine, type TrainEvent } from './events.js';

export interface TerminalOptions {
  /** Where lines go (default process.stdout). */
  stream?: NodeJS.WriteStream;
  /** Show a progress bar (default: when the stream is a TTY). */
  bar?: boolean;
  /** Log every step's loss too (default false). */
  verbose?: boolean;
}

/** ` — moved from webgpu to cpu` when a checkpoint continues on another device. */
export function movedNote(moved?: { from: string; to: string }): string {
  return moved ? ` — moved from ${moved.from} to ${moved.to}` : '';
}

/**
 * The printed line of an event (the users' familiar output), shared by the terminal and the
 * notebook renderers; null for events shown only as progress.
 */
export function eventLine(e: TrainEvent, verbose = false): string | null {
  switch (e.type) {
    case 'start': return `${e.stage ? `[${e.stage}] ` : ''}Training in ${e.runDir}: ${e.epochs} epochs × ${e.stepsPerEpoch} steps`;
    case 'resume': return `Resuming from epoch ${e.epoch + 1}, step ${e.stepInEpoch} (global step ${e.globalStep})${movedNote(e.moved)}`;
    case 'step': return verbose ? `step ${e.globalStep}: loss=${(e.metrics.loss ?? NaN).toFixed(4)}` : null;
    case 'epoch': return formatEpochLine(e);
    case 'checkpoint':
      // "Saved" only once the checkpoint is durable (a kill after this line resumes from it or later)
      if (e.phase === 'saved') return verbose ? `saving ${e.kind} (step ${e.globalStep})…` : null;
      if (e.kind === 'last' || e.kind === 'best') return `Saved ${e.kind} (epoch ${e.epoch + 1})`;
      return verbose ? `Saved ${e.kind} (step ${e.globalStep})` : null;
    case 'backup': return e.line ?? (e.ok ? `✓ ${e.message}` : `✗ Backup: ${e.message}`);
    case 'earlyStop':
      return `Early stopping at epoch ${e.epoch + 1}: ${e.monitor} has not improved for ${e.patience} epochs (best ${e.best?.toFixed(4)} at epoch ${(e.bestEpoch ?? 0) + 1})`;
    case 'log':
    case 'done': return e.message;
    case 'error': return null; // thrown errors are printed by the caller; NaN stops arrive as `done`
  }
}

export function terminalRenderer(opts: TerminalOptions = {}): (e: TrainEvent) => void {
  const stream = opts.stream ?? process.stdout;
  const useBar = opts.bar ?? Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  const line = (s: string): void => {
    if (bar) { bar.stop(); bar = null; }
    stream.write(s + '\n');
  };
  return (e) => {
    if (e.type === 'step' && useBar) {
      if (!bar) {
        bar = new cliProgress.SingleBar({
          stream,
          format: `Epoch ${e.epoch + 1}/${e.epochs} [{bar}] {value}/{total} loss={loss}`,
          hideCursor: false,
          clearOnComplete: true,
        }, cliProgress.Presets.shades_classic);
        bar.start(e.stepsPerEpoch, e.stepInEpoch, { loss: '-' });
      }
      bar.update(e.stepInEpoch, { loss: (e.metrics.loss ?? NaN).toFixed(4) });
      return;
    }
    const text = eventLine(e, opts.verbose);
    if (text !== null) line(text);
  };
}
