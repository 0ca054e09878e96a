// Starts a worker thread that serves requests (the thread side of client.ts). The thread runs a
// small bootstrap (plain JavaScript, eval'd) that loads the entry, calls its `start(ctx)` once
// for a request handler, and answers each `{ id, body }` with `{ id, value }` or `{ id, error }`;
// `ctx.notify(x)` posts `{ notice: x }`. Entries:
// - `module`: a file of this package (path relative to the package root) exporting `start`. A
//   `.ts` file runs under tsx, registered inside the thread through its public `tsx/esm/api`
//   entry (workers do not inherit the main thread's loader hooks); a `.js` file is imported as is.
// - `script`: self-contained JavaScript that defines `function start(ctx)`, for threads that
//   need nothing from this package: they start in ~45 ms, a tsx thread in ~400–500 ms
//   (measured on the 2-core dev machine), which matters for a thread every backup starts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { packageRoot } from '../paths.js';

export type ThreadEntry = { module: string } | { script: string };

/** What a thread's `start(ctx)` receives. */
export interface ThreadContext<Notice = unknown> {
  workerData: unknown;
  /** Sends a message that answers no request (events, progress). */
  notify(notice: Notice): void;
}
export type ThreadHandler<Req = unknown, Res = unknown> = (request: Req) => Res | Promise<Res>;
export type ThreadStart<Req = unknown, Res = unknown, Notice = unknown> = (ctx: ThreadContext<Notice>) => ThreadHandler<Req, Res> | Promise<ThreadHandler<Req, Res>>;

/** An error as it crosses the thread boundary (structured clone drops an Error's own fields). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** The error's own string/number/boolean fields (code, errno, syscall, path, file, …). */
  [field: string]: unknown;
}

const BOOTSTRAP = (load: string) => `
const { parentPort, workerData } = require('node:worker_threads');
const serialize = (e) => {
  const out = { name: (e && e.name) || 'Error', message: String(e && e.message !== undefined ? e.message : e), stack: e && e.stack };
  if (e && typeof e === 'object') for (const k of Object.keys(e)) {
    const v = e[k];
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
};
const ctx = { workerData, notify: (notice) => parentPort.postMessage({ notice }) };
const ready = Promise.resolve().then(${load}).then((start) => start(ctx));
ready.catch((e) => setImmediate(() => { throw e; })); // the thread dies: the client fails what it asked
parentPort.on('message', ({ id, body }) => {
  ready.then((handle) => Promise.resolve().then(() => handle(body)).then(
    (value) => parentPort.postMessage({ id, value }),
    (e) => parentPort.postMessage({ id, error: serialize(e) }),
  ), () => {});
});
`;

let tsxApi: string | null = null;

/** `tsx/esm/api` resolved with the `import` condition of tsx's package.json exports. */
export function tsxApiUrl(root: string): string {
  if (tsxApi) return tsxApi;
  const pkgFile = createRequire(path.join(root, 'package.json')).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: string | { default: string } }> };
  const entry = pkg.exports['./esm/api'].import;
  tsxApi = pathToFileURL(path.join(path.dirname(pkgFile), typeof entry === 'string' ? entry : entry.default)).href;
  return tsxApi;
}

function loader(entry: ThreadEntry, root: string): string {
  if ('script' in entry) return `() => { ${entry.script}\nreturn start; }`;
  const url = JSON.stringify(pathToFileURL(path.join(root, entry.module)).href);
  const startOf = '.then((m) => { if (typeof m.start !== "function") throw new Error(' + JSON.stringify(`${entry.module} exports no start(ctx)`) + '); return m.start; })';
  if (!entry.module.endsWith('.ts')) return `() => import(${url})${startOf}`;
  return `() => import(${JSON.stringify(tsxApiUrl(root))}).then((tsx) => { tsx.register(); return import(${url}); })${startOf}`;
}

/** Starts the thread (throws when threads cannot be started here). */
export function startThread(entry: ThreadEntry, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const root = 'module' in entry ? packageRoot() : '';
  const env = root ? { ...process.env, DRIVETRAIN_ROOT: root, ...(options.env as object | undefined) } : options.env;
  return new Worker(BOOTSTRAP(loader(entry, root)), { ...options, eval: true, env });
}
