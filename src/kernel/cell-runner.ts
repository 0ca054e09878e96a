// Runs one cell through tslab's executor and says how it ended: its last expression's value, a
// Jupyter error, or an interrupt. tslab prints failures to the console it is given; this class
// gives it one that collects them per cell instead.
//
// Interrupts (SIGINT, what Jupyter's Interrupt sends): tslab ends the awaited cell at once, even
// when the cell's code listens for SIGINT to stop cleanly (drivetrain's training finishes its
// step, saves and returns). Here a cell that added a SIGINT listener since it started is left to
// stop by itself, so the cell stays busy until its save is done; a second Interrupt, or a cell
// without such a listener, is ended at once as tslab does. A cell that stopped that way may end
// by throwing an error marked `interruptHandled` (so that the rest of the cell does not run):
// it is reported as KeyboardInterrupt without an error output.
import { format } from 'node:util';
import { compileError, interruptError, isDiagnostic, isHandledInterrupt, isInterruptError, thrownError, type ErrorContent } from './errors.js';
import type { Executor, ExecutorConsole } from './tslab.js';

export type CellOutcome =
  | { kind: 'ok'; hasValue: boolean; value: unknown; stderr: string }
  /** `show`: send the error as an output (false for a cell that stopped cleanly at an interrupt). */
  | { kind: 'error'; error: ErrorContent; show: boolean; stderr: string };

interface Capture {
  values: unknown[];
  errors: unknown[][];
  interrupts: number;
  abandoned: boolean;
  listenersAtStart: Set<unknown>;
}

export class CellRunner {
  private capture: Capture | null = null;
  private executor: Executor | null = null;

  constructor(private readonly typescriptVersion: string) {}

  /** The console to hand to tslab's createExecutor; outside a cell it writes to stderr. */
  readonly console: ExecutorConsole = {
    log: (...args) => (this.capture ? this.capture.values.push(args[0]) : process.stdout.write(`${format(...args)}\n`)),
    error: (...args) => (this.capture ? this.capture.errors.push(args) : process.stderr.write(`${format(...args)}\n`)),
  };

  attach(executor: Executor): void {
    this.executor = executor;
  }

  get running(): boolean {
    return this.capture !== null;
  }

  async run(code: string): Promise<CellOutcome> {
    const executor = this.executor;
    if (!executor) throw new Error('CellRunner.attach() was not called');
    const c: Capture = { values: [], errors: [], interrupts: 0, abandoned: false, listenersAtStart: new Set<unknown>(process.listeners('SIGINT')) };
    this.capture = c;
    let ok: boolean;
    try {
      const pending = executor.execute(code);
      // The cell's synchronous part has run (tslab awaits only after vm.runInThisContext).
      rearmSigint(c.listenersAtStart);
      ok = await pending;
    } catch (e) {
      ok = false;
      c.errors.push([e]);
    } finally {
      this.capture = null;
    }
    return this.outcome(ok, c);
  }

  private outcome(ok: boolean, c: Capture): CellOutcome {
    const diagnostics = c.errors.filter(isDiagnostic);
    const thrown = c.errors.filter((a) => !isDiagnostic(a)).map((a) => (a.length === 1 ? a[0] : format(...a)));
    if (ok) {
      // Module cells report diagnostics but succeed: show them as tslab did.
      const stderr = c.errors.map((a) => `${format(...a)}\n`).join('');
      if (c.interrupts > 0) return { kind: 'error', error: interruptError('stopped'), show: false, stderr };
      return { kind: 'ok', hasValue: c.values.length > 0, value: c.values[c.values.length - 1], stderr };
    }
    if (diagnostics.length) return { kind: 'error', error: compileError(diagnostics, this.typescriptVersion), show: true, stderr: '' };
    const err = thrown[thrown.length - 1];
    // A training cell that stopped at this Interrupt after saving threw to end the cell: its
    // message is in the cell's output already, so no error is shown (Run All still stops here).
    if (c.interrupts > 0 && !c.abandoned && isHandledInterrupt(err)) return { kind: 'error', error: interruptError('stopped'), show: false, stderr: '' };
    if (c.abandoned) return { kind: 'error', error: interruptError('abandoned'), show: true, stderr: '' };
    if (isInterruptError(err)) return { kind: 'error', error: interruptError('cut'), show: true, stderr: '' };
    return { kind: 'error', error: thrownError(err), show: true, stderr: '' };
  }

  /** SIGINT arrived. Returns what was done (for logs and tests). */
  interrupt(): 'idle' | 'left to the cell' | 'ended' {
    const c = this.capture;
    if (!c || !this.executor) return 'idle';
    c.interrupts++;
    const cellListeners = process.listeners('SIGINT').filter((l) => !c.listenersAtStart.has(l));
    if (c.interrupts === 1 && cellListeners.length > 0) return 'left to the cell';
    c.abandoned = c.interrupts > 1 && cellListeners.length > 0;
    this.executor.interrupt();
    return 'ended';
  }
}

/**
 * tslab runs a cell's synchronous part with vm's `breakOnSigint`, whose watchdog, when it stops,
 * puts Node's default SIGINT action (exit) in place of the handler of a listener added meanwhile:
 * the next Interrupt killed the kernel. Removing and re-adding the listeners (as vm itself does
 * for those present before) makes Node install its handler again. Those present before the cell
 * (the kernel's first) go first again: vm re-added them after the cell's own.
 */
function rearmSigint(before: Set<unknown>): void {
  const raw = process.rawListeners('SIGINT') as ((...args: unknown[]) => void)[];
  if (raw.length === 0) return;
  const known = (l: (...args: unknown[]) => void) => before.has(l) || before.has((l as { listener?: unknown }).listener);
  process.removeAllListeners('SIGINT');
  for (const l of [...raw.filter(known), ...raw.filter((l) => !known(l))]) process.addListener('SIGINT', l);
}
