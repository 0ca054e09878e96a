// Headless notebook run: real Jupyter server + tslab kernel, cells in order, outputs streamed
// to the terminal and written into an executed copy of the notebook.
import path from 'node:path';
import { startJupyterServer, type JupyterDirs, type ServerHandle } from './jupyter-server.js';
import { KernelClient, type OutputSink } from './kernel-client.js';
import { injectParameters, OutputCollector, readNotebook, sourceText, writeNotebook, type Notebook, type NotebookCell } from './notebook-file.js';

/** How long Ctrl-C waits for the running cell to stop and save before shutting down anyway. */
const INTERRUPT_GRACE_MS = 30_000;

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
  /** Install SIGINT/SIGTERM handlers that shut everything down and exit (CLI use). */
  handleSignals?: boolean;
  /** Called with the server as soon as it runs (tests use it to check processes). */
  onServer?: (server: ServerHandle) => void;
}

export interface RunNotebookResult {
  out: string;
  executedCells: number;
  seconds: number;
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

export const terminalSink: OutputSink = {
  stream: (name, text) => (name === 'stderr' ? process.stderr : process.stdout).write(text),
  display: (data) => {
    const text = displayText(data);
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
};

export async function runNotebook(file: string, opts: RunNotebookOptions = {}): Promise<RunNotebookResult> {
  const started = Date.now();
  const abs = path.resolve(file);
  const out = path.resolve(opts.out ?? defaultOutPath(abs));
  const log = opts.log ?? ((l: string) => process.stderr.write(`[drivetrain] ${l}\n`));
  const sink = opts.sink ?? terminalSink;
  const source = readNotebook(abs);
  // Cell numbers in messages refer to the original notebook; the injected cell has none.
  const injected = injectParameters(source, opts.params ?? {}, opts.strictParams);
  const nb: Notebook = injected.notebook;
  if (injected.ignored.length) log(`${path.basename(abs)} declares no parameter ${injected.ignored.join(', ')}: ignored`);
  const numbers = nb.cells.map((c) => (c.id === 'injected-parameters' && c.metadata.tags?.includes('injected-parameters') ? 0 : source.cells.indexOf(c) + 1));
  for (const c of nb.cells) if (c.cell_type === 'code') Object.assign(c, { outputs: [], execution_count: null });
  nb.metadata = { ...nb.metadata, drivetrain: { executed_at: new Date().toISOString(), parameters: opts.params ?? {}, status: 'running' } };

  let server: ServerHandle | null = null;
  let client: KernelClient | null = null;
  let cleaned: Promise<void> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      await client?.shutdown();
      await server?.stop();
    })());
  const killNow = () => server?.killNow();
  let interrupted = false;
  // The cell in flight, so Ctrl-C can let it finish (a training cell saves and returns) and keep its output.
  let running: { cell: NotebookCell; collector: OutputCollector; done: Promise<unknown> } | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    (nb.metadata.drivetrain as Record<string, unknown>).status = `interrupted (${sig})`;
    const hard = setTimeout(() => {
      killNow();
      process.exit(130);
    }, sig === 'SIGINT' ? INTERRUPT_GRACE_MS + 8000 : 8000);
    const finishCell = async () => {
      if (sig !== 'SIGINT' || !client || !running) return;
      log('SIGINT: interrupting the running cell (training stops after its step and saves)…');
      const r = running;
      await client.interrupt();
      await Promise.race([r.done.catch(() => {}), new Promise((res) => setTimeout(res, INTERRUPT_GRACE_MS))]);
      r.cell.outputs = r.collector.finish();
    };
    void finishCell()
      .then(() => {
        log(`${sig}: shutting down the kernel and the Jupyter server…`);
        try {
          writeNotebook(out, nb);
        } catch {
          /* best effort */
        }
      })
      .then(cleanup)
      .finally(() => {
        clearTimeout(hard);
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
  };
  if (opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  process.on('exit', killNow);

  let executed = 0;
  // @jupyterlab/services logs every WebSocket (re)connect with console.debug; keep the terminal clean.
  const debug = console.debug;
  console.debug = () => {};
  try {
    server = await startJupyterServer({ rootDir: path.dirname(abs), dirs: opts.dirs, log });
    opts.onServer?.(server);
    const kernelName = opts.kernelName ?? 'drivetrain';
    client = await KernelClient.start({ ...server, notebookPath: path.basename(abs), kernelName });
    log(`kernel "${kernelName}" started for ${path.basename(abs)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    for (let i = 0; i < nb.cells.length; i++) {
      const cell = nb.cells[i]!;
      const code = sourceText(cell.source);
      if (cell.cell_type !== 'code' || code.trim() === '') continue;
      const n = numbers[i]!;
      log(`cell ${n > 0 ? n : '(injected parameters)'} of ${source.cells.length}`);
      const collector = new OutputCollector();
      const done = client.execute(code, collector, sink);
      running = { cell, collector, done };
      const res = await done;
      running = null;
      // After Ctrl-C the signal handler owns the ending (its shutdown also ends this request).
      if (interrupted) await new Promise(() => {});
      cell.outputs = collector.finish();
      cell.execution_count = res.executionCount;
      executed++;
      if (res.status !== 'ok') {
        (nb.metadata.drivetrain as Record<string, unknown>).status = `failed at cell ${n}`;
        writeNotebook(out, nb);
        throw new NotebookCellError(abs, n, res.stderr || res.errorText, out, res.status);
      }
    }
    (nb.metadata.drivetrain as Record<string, unknown>).status = 'ok';
    writeNotebook(out, nb);
    return { out, executedCells: executed, seconds: (Date.now() - started) / 1000 };
  } finally {
    await cleanup();
    console.debug = debug;
    process.off('exit', killNow);
    if (opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
