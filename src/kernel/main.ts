// The "TypeScript (drivetrain)" kernel: tslab's compiler and executor behind a server that
// behaves as Jupyter clients expect (see server.ts and cell-runner.ts). Started by
// kernel-spec/tslab-kernel.cjs, which also installs the SIGINT listener before anything loads.
import { CellRunner } from './cell-runner.js';
import { createKernelServer } from './server.js';
import { loadTslab, type Converter, type Tslab } from './tslab.js';

export interface StartKernelOptions {
  /** Jupyter's connection file. */
  configPath: string;
  /** The drivetrain checkout whose node_modules holds tslab. */
  root: string;
  /** Registers the function the launcher's SIGINT listener calls. */
  onSigint(fn: () => void): void;
  /** Shown on the first cell's stderr. */
  notice?: string;
}

function converters(tslab: Tslab) {
  let node: Converter | undefined;
  let browser: Converter | undefined;
  return {
    get node() {
      return (node ??= tslab.createConverter({ isJS: false, isBrowser: false }));
    },
    get browser() {
      return (browser ??= tslab.createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
}

export async function startKernel(opts: StartKernelOptions): Promise<void> {
  const tslab = loadTslab(opts.root);
  const runner = new CellRunner(tslab.typescriptVersion);
  const convs = converters(tslab);
  void convs.node; // warm the compiler before the first cell, as tslab does
  const executor = tslab.createExecutor(process.cwd(), convs, runner.console);
  runner.attach(executor);
  const handler = new tslab.JupyterHandlerImpl(executor, false);
  const info = handler.handleKernel.bind(handler);
  handler.handleKernel = () => {
    const base = info();
    return {
      ...base,
      implementation: 'tslab',
      implementation_version: tslab.version,
      banner: `TypeScript ${tslab.typescriptVersion} (drivetrain kernel on tslab ${tslab.version}, Node ${process.version})`,
      language_info: { ...base.language_info, version: tslab.typescriptVersion, pygments_lexer: 'typescript' },
    };
  };
  const server = createKernelServer(opts.configPath, handler, { runner, tslab, notice: opts.notice });
  opts.onSigint(() => void runner.interrupt());
  // Errors of background work (timers, unawaited promises) are printed, never fatal (as in tslab).
  process.on('uncaughtException', (err) => console.error('UncaughtException:', err));
  process.on('unhandledRejection', (reason) => console.error('UnhandledPromiseRejection:', reason));
  await server.init();
}
