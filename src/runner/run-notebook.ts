// Headless notebook run: real Jupyter server + tslab kernel, cells in order, outputs streamed
// to the terminal and written into an executed copy of the notebook. A library: it returns a
// handle (interrupt / stop / kill) and never exits the process or installs signal handlers;
// cli/notebook.ts maps signals and exit codes onto it.
import path from 'node:path';
import { startJupyterServer, type JupyterDirs, type ServerHandle } from './jupyter-server.js';
import { KernelClient, type OutputSink } from './kernel-client.js';
import { injectParameters, OutputCollector, readNotebook, sourceText, writeNotebook, type Notebook, type NotebookCell } from './notebook-file.js';

/** How long Ctrl-C waits for the running cell to stop and save before shutting down anyway. */
export const INTERRUPT_GRACE_MS = 30_000;

export interface RunNotebookOptions {
  /** Overrides for the cell tagged `parameters` (a new cell is injected after it). */
  params?: Record<string, unknown>;
  /** Fail on -p names the parameters cell does not declare (default: ignore them with a note). */
  strictParams?: boolean;
  /** Where the executed notebook goes; default `<notebook dir>/executed/<name>.ipynb`. */
  out?: string;
  kernelName?: string;
  dirs?: JupyterDirs;
  /** Receives cell output as it arrives; default writes to this process's stdout/stderr. */
  sink?: OutputSink;
  /** Progress lines of the runner itself (default: stderr). */
  log?: (line: string) => void;
  /** Called with the server as soon as it runs (tests use it to check processes). */
  onServer?: (server: ServerHandle) => void;
}

export interface RunNotebookResult {
  out: string;
  executedCells: number;
  seconds: number;
  /** `ok`, or how the run was ended early: by interrupt() or by stop(). */
  status: 'ok' | 'interrupted' | 'stopped';
}

/** A cell failed: `cellNumber` is 1-based over the notebook's cells as Jupyter shows them. */
export class NotebookCellError extends Error {
  constructor(
    readonly notebook: string,
    readonly cellNumber: number,
    readonly stderr: string,
    readonly out: string,
    readonly status: string,
  ) {
    const where = cellNumber > 0 ? `cell ${cellNumber}` : 'the injected parameters cell';
    const text = tidyStderr(stderr).trim() || `(the kernel reported status "${status}" without error text)`;
    // tslab prints compile errors of imported files as bare "line:col - message".
    const hint = /^\d+:\d+ - /m.test(text) ? '\n(TypeScript errors; `drivetrain kernel check` names the src files they are in)' : '';
    super(`${path.basename(notebook)}: ${where} failed:\n${text}${hint}\n(executed notebook with outputs so far: ${out})`);
    this.name = 'NotebookCellError';
  }
}

export function defaultOutPath(notebook: string): string {
  return path.join(path.dirname(notebook), 'executed', path.basename(notebook));
}

/** stderr without the stack frames of tslab and Node internals (they say nothing to a user). */
export function tidyStderr(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s+at .*(node:vm|node:internal|node_modules[\\/]tslab[\\/]|sigintHandlersWrap)/.test(l))
    .join('\n');
}

/** Text a terminal can show for a display bundle (HTML stripped to its text). */
export function displayText(data: Record<string, unknown>): string {
  const plain = data['text/plain'];
  if (typeof plain === 'string') return plain;
  const html = data['text/html'] ?? data['text/markdown'];
  if (typeof html === 'string') {
    return html
      .replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
      .replace(/<br\s*\/?>|<\/(p|div|tr|h\d|li)>/gi, '\n')
      .replace(/<\/t[dh]>/gi, '  ')
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
  }
  return `[${Object.keys(data).join(', ')} output]`;
}

/**
 * What a terminal prints of a display: all of it the first time; for a display updated in place
 * (a training cell's live block: epoch lines above a status that changes), only the lines the
 * previous version did not have, so each epoch line is printed once and the status as it changes.
 */
export function displayPrinter(): (data: Record<string, unknown>, update: boolean, displayId?: string) => string {
  const seen = new Map<string, Set<string>>();
  return (data, _update, displayId) => {
    const text = displayText(data);
    if (!displayId) return text;
    const lines = text.split('\n');
    const before = seen.get(displayId) ?? new Set<string>();
    seen.set(displayId, new Set(lines));
    return lines.filter((l) => !before.has(l)).join('\n');
  };
}

const printDisplay = displayPrinter();

export const terminalSink: OutputSink = {
  stream: (name, text) => (name === 'stderr' ? process.stderr : process.stdout).write(text),
  display: (data, update, displayId) => {
    const text = printDisplay(data, update, displayId);
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
};

/** A notebook run in progress (startNotebook). */
export interface NotebookRun {
  /** The result once the run has ended and the kernel and server are shut down; rejects with NotebookCellError when a cell fails. */
  readonly done: Promise<RunNotebookResult>;
  /**
   * Like Jupyter's Interrupt, then ends the run: the running cell gets SIGINT (a training cell
   * stops after its step and saves) and up to 30 s to finish; its output is kept. `label` goes
   * into the executed notebook's status, `interrupted (<label>)`.
   */
  interrupt(label?: string): void;
  /** Ends the run without waiting for the running cell; status `interrupted (<label>)`. */
  stop(label?: string): void;
  /** Last resort: kills the kernel and the server at once (synchronous). */
  kill(): void;
}

/** Runs a notebook to the end (or to its first failing cell). */
export async function runNotebook(file: string, opts: RunNotebookOptions = {}): Promise<RunNotebookResult> {
  return startNotebook(file, opts).done;
}

/** Starts a notebook run and returns its handle at once (throws if the notebook cannot be read or parameterised). */
export function startNotebook(file: string, opts: RunNotebookOptions = {}): NotebookRun {
  const run = new HeadlessRun(file, opts);
  return { done: run.done, interrupt: (l) => run.end('interrupt', l ?? 'interrupt'), stop: (l) => run.end('stop', l ?? 'stop'), kill: () => run.kill() };
}

interface Ending { kind: 'interrupt' | 'stop'; label: string }

class HeadlessRun {
  readonly done: Promise<RunNotebookResult>;
  private readonly started = Date.now();
  private readonly abs: string;
  private readonly out: string;
  private readonly log: (line: string) => void;
  private readonly source: Notebook;
  private readonly nb: Notebook;
  /** 1-based cell numbers of the original notebook (0: the injected parameters cell). */
  private readonly numbers: number[];
  private server: ServerHandle | null = null;
  private client: KernelClient | null = null;
  private ending: Ending | null = null;
  private wake!: () => void;
  /** Resolves when interrupt() or stop() is called. */
  private readonly ended = new Promise<void>((r) => (this.wake = r));

  constructor(file: string, private readonly opts: RunNotebookOptions) {
    this.abs = path.resolve(file);
    this.out = path.resolve(opts.out ?? defaultOutPath(this.abs));
    this.log = opts.log ?? ((l: string) => process.stderr.write(`[drivetrain] ${l}\n`));
    this.source = readNotebook(this.abs);
    const injected = injectParameters(this.source, opts.params ?? {}, opts.strictParams);
    this.nb = injected.notebook;
    if (injected.ignored.length) this.log(`${path.basename(this.abs)} declares no parameter ${injected.ignored.join(', ')}: ignored`);
    this.numbers = this.nb.cells.map((c) => (c.id === 'injected-parameters' && c.metadata.tags?.includes('injected-parameters') ? 0 : this.source.cells.indexOf(c) + 1));
    for (const c of this.nb.cells) if (c.cell_type === 'code') Object.assign(c, { outputs: [], execution_count: null });
    this.nb.metadata = { ...this.nb.metadata, drivetrain: { executed_at: new Date().toISOString(), parameters: opts.params ?? {}, status: 'running' } };
    const killNow = () => this.kill();
    process.on('exit', killNow); // never leave a server or kernel behind this process
    this.done = this.execute().finally(() => process.off('exit', killNow));
  }

  end(kind: Ending['kind'], label: string): void {
    if (this.ending) return;
    this.setStatus(`interrupted (${label})`);
    this.ending = { kind, label };
    if (kind === 'interrupt') void this.client?.interrupt();
    this.wake();
  }

  kill(): void {
    this.server?.killNow();
  }

  private async execute(): Promise<RunNotebookResult> {
    let executed = 0;
    try {
      await this.startKernel();
      for (let i = 0; i < this.nb.cells.length && !this.ending; i++) {
        if (await this.runCell(i)) executed++;
      }
      if (this.ending) {
        this.log(`${this.ending.label}: shutting down the kernel and the Jupyter server…`);
      } else this.setStatus('ok');
      this.save();
      const status = !this.ending ? 'ok' : this.ending.kind === 'interrupt' ? 'interrupted' : 'stopped';
      return { out: this.out, executedCells: executed, seconds: (Date.now() - this.started) / 1000, status };
    } finally {
      await this.client?.shutdown();
      await this.server?.stop();
    }
  }

  private async startKernel(): Promise<void> {
    const name = path.basename(this.abs);
    this.server = await startJupyterServer({ rootDir: path.dirname(this.abs), dirs: this.opts.dirs, log: this.log });
    this.opts.onServer?.(this.server);
    if (this.ending) return;
    const kernelName = this.opts.kernelName ?? 'drivetrain';
    this.client = await KernelClient.start({ ...this.server, notebookPath: name, kernelName });
    this.log(`kernel "${kernelName}" started for ${name} (${((Date.now() - this.started) / 1000).toFixed(1)} s)`);
  }

  /** Runs cell `i` if it is code; false when there was nothing to run. Throws NotebookCellError. */
  private async runCell(i: number): Promise<boolean> {
    const cell = this.nb.cells[i]!;
    const code = sourceText(cell.source);
    if (cell.cell_type !== 'code' || code.trim() === '') return false;
    const n = this.numbers[i]!;
    this.log(`cell ${n > 0 ? n : '(injected parameters)'} of ${this.source.cells.length}`);
    const collector = new OutputCollector();
    const done = this.client!.execute(code, collector, this.opts.sink ?? terminalSink);
    const res = await this.untilEnded(done);
    cell.outputs = collector.finish();
    if (!res || this.ending) return true; // ended early: the output so far is kept
    cell.execution_count = res.executionCount;
    if (res.status !== 'ok') {
      this.setStatus(`failed at cell ${n}`);
      this.save();
      throw new NotebookCellError(this.abs, n, res.stderr || res.errorText, this.out, res.status);
    }
    return true;
  }

  /** The cell's reply, or null when the run is ended first (after interrupt(): once the cell stops, or after the grace time). */
  private async untilEnded<T>(done: Promise<T>): Promise<T | null> {
    const first = await Promise.race([done.then((v) => ({ v })), this.ended.then(() => null)]);
    if (first) return first.v;
    if (this.ending!.kind === 'stop') return null;
    this.log(`${this.ending!.label}: interrupting the running cell (training stops after its step and saves)…`);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<null>((r) => { timer = setTimeout(() => r(null), INTERRUPT_GRACE_MS); });
    await Promise.race([done.catch(() => undefined), grace]);
    clearTimeout(timer);
    return null;
  }

  private setStatus(status: string): void {
    (this.nb.metadata.drivetrain as Record<string, unknown>).status = status;
  }

  private save(): void {
    writeNotebook(this.out, this.nb);
  }
}
