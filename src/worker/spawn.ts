// Starts a worker thread from a module of this package (path relative to the package root):
// under tsx when only the TypeScript source exists or we run from sources, directly for built
// JavaScript. Workers do not inherit the main thread's loader hooks, so a `.ts` module gets a
// tiny eval shim that registers tsx inside the worker first.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { packageRoot } from '../paths.js';

/** `relPath` like 'src/backup/thread.ts'. */
export function startModuleWorker(relPath: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const root = packageRoot();
  const file = path.join(root, relPath);
  if (!file.endsWith('.ts')) return new Worker(file, options);
  const req = createRequire(path.join(root, 'package.json'));
  const tsx = pathToFileURL(path.join(path.dirname(req.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
  const shim = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); });`;
  return new Worker(shim, { ...options, eval: true, env: { ...process.env, DRIVETRAIN_ROOT: root, ...(options.env as object | undefined) } });
}
