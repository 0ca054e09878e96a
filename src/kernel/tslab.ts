// The parts of tslab the drivetrain kernel builds on: its TypeScript converter and executor
// (compiling and running cells) and its ZeroMQ server (the Jupyter wire protocol). They are
// tslab internals, not its public API, so the version is pinned in package.json and checked here.
import { createRequire } from 'node:module';
import path from 'node:path';

export const TSLAB_VERSION = '1.0.22';

/** One parsed Jupyter message (tslab's ZmqMessage). */
export interface ZmqMessage {
  header: { msg_type: string; msg_id: string; [k: string]: unknown };
  parent: Record<string, unknown>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  createReply(): ZmqMessage;
  signAndSend(key: string, sock: unknown): void;
}

export interface ZmqServerBase {
  readonly handler: JupyterHandler;
  readonly connInfo: { key: string };
  readonly iopub: unknown;
  readonly shell: unknown;
  readonly control: unknown;
  init(): Promise<void>;
  close(): void;
  publishStatus(status: 'busy' | 'idle', parent: ZmqMessage): void;
  handleShellMessage(sock: unknown, ...frames: Buffer[]): Promise<void>;
  handleExecute(sock: unknown, msg: ZmqMessage): Promise<void>;
}
export type ZmqServerClass = new (handler: JupyterHandler, configPath: string) => ZmqServerBase;

export interface JupyterHandler {
  handleKernel(): { language_info: Record<string, unknown>; [k: string]: unknown };
  close(): void;
}

export interface Executor {
  /** Compiles and runs a cell; false when it failed (the error went to the console's `error`). */
  execute(src: string): Promise<boolean>;
  /** Rejects the promise the running cell is awaited with ("Interrupted asynchronously"). */
  interrupt(): void;
  close(): void;
}

/** What tslab's executor writes: `log(value)` for a cell's last expression, `error(...)` for failures. */
export interface ExecutorConsole {
  log(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface Converter {
  close(): void;
}

export interface Tslab {
  version: string;
  typescriptVersion: string;
  createConverter(opts: { isJS: boolean; isBrowser: boolean }): Converter;
  createExecutor(root: string, convs: { node: Converter; browser: Converter; close(): void }, console: ExecutorConsole): Executor;
  ZmqServer: ZmqServerClass;
  JupyterHandlerImpl: new (executor: Executor, isJs: boolean) => JupyterHandler;
  /** tslab's module holding `lastWriteDisplayData` (what `tslab.display` and drivetrain's displays write through). */
  jupyter: { lastWriteDisplayData: ((data: unknown, update: boolean) => void) | null };
}

/** Loads tslab from `<root>/node_modules`, the copy cells' `require('tslab')` also resolves to. */
export function loadTslab(root: string): Tslab {
  const req = createRequire(path.join(root, 'node_modules', 'tslab', 'package.json'));
  const version = (req('./package.json') as { version: string }).version;
  if (version !== TSLAB_VERSION) {
    throw new Error(`the drivetrain kernel is built on tslab ${TSLAB_VERSION} internals but found tslab ${version}; run \`npm ci\` (package.json pins it)`);
  }
  const jupyter = req('./dist/jupyter') as Tslab['jupyter'] & Pick<Tslab, 'ZmqServer' | 'JupyterHandlerImpl'>;
  return {
    version,
    typescriptVersion: (req('@tslab/typescript-for-tslab') as { version: string }).version,
    createConverter: (req('./dist/converter') as Pick<Tslab, 'createConverter'>).createConverter,
    createExecutor: (req('./dist/executor') as Pick<Tslab, 'createExecutor'>).createExecutor,
    ZmqServer: jupyter.ZmqServer,
    JupyterHandlerImpl: jupyter.JupyterHandlerImpl,
    jupyter,
  };
}
