// Jupyter `error` contents (ename, evalue, traceback) from what a failed cell left: a thrown
// value, TypeScript diagnostics, or an interrupt. Notebook, JupyterLab and VS Code show the
// traceback lines (ANSI colours allowed); nbclient also prints "ename: evalue".
import { format, inspect } from 'node:util';

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

const RED = '\x1b[0;31m';
const RESET = '\x1b[0m';

const heading = (ename: string, evalue: string) => `${RED}${ename}${RESET}: ${evalue}`;

/** Stack frames of Node internals, vm and tslab say nothing about the user's code. */
const NOISE = /\((node:|internal\/)|at (node:|internal\/)|node_modules[\\/]tslab[\\/]|sigintHandlersWrap|[\\/]kernel[\\/](cell-runner|server|main)\.[jt]s/;

function frames(stack: string | undefined): string[] {
  if (!stack) return [];
  return stack.split('\n').filter((l) => /^\s+at /.test(l) && !NOISE.test(l));
}

function nameOf(e: Error): string {
  const n = e.name && e.name !== 'Error' ? e.name : e.constructor?.name;
  return n && n !== 'Object' ? n : 'Error';
}

/** A thrown value as an error output: `DrivetrainError: …` plus the frames of user and project code. */
export function thrownError(value: unknown): ErrorContent {
  if (!(value instanceof Error)) {
    const evalue = typeof value === 'string' ? value : inspect(value);
    return { ename: 'Uncaught', evalue, traceback: [heading('Uncaught', evalue)] };
  }
  const ename = nameOf(value);
  const evalue = value.message;
  const traceback = [heading(ename, evalue), ...frames(value.stack)];
  let cause = (value as { cause?: unknown }).cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const c = cause instanceof Error ? `${nameOf(cause)}: ${cause.message}` : inspect(cause);
    traceback.push(`Caused by: ${c}`, ...(cause instanceof Error ? frames(cause.stack) : []));
    cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  }
  return { ename, evalue, traceback };
}

/**
 * tslab prints each TypeScript diagnostic as `console.error('%s%d:%d - %s', file, line, col, text)`;
 * the lines keep that `[file ]line:col - message` form (the runner's hints look for it).
 */
export function compileError(diagnostics: unknown[][], typescriptVersion: string): ErrorContent {
  const lines = diagnostics.map((args) => format(...args));
  const evalue = lines.length === 1 ? lines[0]! : `${lines.length} errors; the first: ${lines[0]}`;
  return {
    ename: 'TSError',
    evalue,
    traceback: [heading('TSError', `the cell does not compile (TypeScript ${typescriptVersion}):`), ...lines],
  };
}

/** A diagnostic-style call (a format string first) rather than a thrown value. */
export function isDiagnostic(args: unknown[]): boolean {
  return args.length > 1 && typeof args[0] === 'string' && args[0].includes('%');
}

/** tslab's "Interrupted asynchronously" and vm's "Script execution was interrupted by `SIGINT`". */
export function isInterruptError(value: unknown): boolean {
  if (!(value instanceof Error)) return false;
  return value.message === 'Interrupted asynchronously' || (value as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED';
}

/**
 * An error a cell throws after it handled an Interrupt itself (drivetrain's training cells, once
 * saved): marked by `interruptHandled: true`, a duck-typed flag so the kernel needs none of the
 * notebook code.
 */
export function isHandledInterrupt(value: unknown): boolean {
  return value instanceof Error && (value as { interruptHandled?: unknown }).interruptHandled === true;
}

export type InterruptKind = 'stopped' | 'abandoned' | 'cut';

/**
 * The error of an interrupted cell. `stopped`: the cell handled the interrupt and finished
 * (nothing is shown; the reply still says KeyboardInterrupt so queued cells are not run).
 * `cut`: a cell that does not handle interrupts was ended at once. `abandoned`: a cell that
 * handles interrupts had not finished at a second Interrupt and was left running.
 */
export function interruptError(kind: InterruptKind): ErrorContent {
  const evalue = {
    stopped: 'the cell stopped at the interrupt',
    cut: 'the cell was interrupted',
    abandoned: 'the cell had not stopped at the first interrupt and was abandoned at the second; work it started may still be running',
  }[kind];
  return { ename: 'KeyboardInterrupt', evalue, traceback: [heading('KeyboardInterrupt', evalue)] };
}

/** Text of an error content without colours (terminal messages, tests). */
export function errorText(e: ErrorContent): string {
  return e.traceback.join('\n').replace(/\x1b\[[0-9;]*m/g, '');
}
