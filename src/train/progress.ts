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

export function terminalRenderer(opts: TerminalOptions = {}): (e: TrainEvent) => void {
  const stream = opts.stream ?? process.stdout;
  const useBar = opts.bar ?? Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  const line = (s: string): void => {
    if (bar) { bar.stop(); bar = null; }
    stream.write(s + '\n');
  };
  return (e) => {
    switch (e.type) {
      case 'start':
        line(`${e.stage ? `[${e.stage}] ` : ''}Training in ${e.runDir}: ${e.epochs} epochs × ${e.stepsPerEpoch} steps`);
        break;
      case 'resume':
        line(`Resuming from epoch ${e.epoch + 1}, step ${e.stepInEpoch} (global step ${e.globalStep})`);
        break;
      case 'step':
        if (useBar) {
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
        } else if (opts.verbose) {
          line(`step ${e.globalStep}: loss=${(e.metrics.loss ?? NaN).toFixed(4)}`);
        }
        break;
      case 'epoch': line(formatEpochLine(e)); break;
      case 'checkpoint':
        if (e.phase === 'saved' && e.kind === 'last') line(`Saved last (epoch ${e.epoch + 1})`);
        else if (e.phase === 'saved' && e.kind === 'best') line(`Saved best (epoch ${e.epoch + 1})`);
        else if (e.phase === 'saved' && opts.verbose) line(`Saved ${e.kind} (step ${e.globalStep})`);
        break;
      case 'backup': line(e.line ?? (e.ok ? `✓ ${e.message}` : `✗ Backup: ${e.message}`)); break;
      case 'earlyStop':
        line(`Early stopping at epoch ${e.epoch + 1}: ${e.monitor} has not improved for ${e.patience} epochs (best ${e.best?.toFixed(4)} at epoch ${(e.bestEpoch ?? 0) + 1})`);
        break;
      case 'log': line(e.message); break;
      case 'done': line(e.message); break;
      case 'error': break; // thrown errors are printed by the caller; NaN stops arrive as `done`
    }
  };
}
