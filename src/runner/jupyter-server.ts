// Starts a real Jupyter server (Debian's jupyter-server) for headless notebook runs, with its
// config/data/runtime dirs inside the project and our kernel spec on JUPYTER_PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { packageRoot } from '../paths.js';

export interface JupyterDirs {
  /** Folder with `kernels/<name>/kernel.json` (put on JUPYTER_PATH). */
  kernelSpecDir: string;
  /** Parent of the config/data/runtime dirs (e.g. `<project>/.jupyter-local`). */
  localDir: string;
}

export interface ServerHandle {
  baseUrl: string;
  wsUrl: string;
  token: string;
  pid: number;
  runtimeDir: string;
  /** Shuts the server down (API, then SIGTERM/SIGKILL of its process group) and kills any
   * kernel it started that is still alive. Safe to call more than once. */
  stop(): Promise<void>;
  /** Synchronous last-resort kill for `process.on('exit')`. */
  killNow(): void;
}

export function defaultDirs(root = packageRoot()): JupyterDirs {
  return { kernelSpecDir: path.join(root, 'kernel-spec'), localDir: path.join(root, '.jupyter-local') };
}

/** The command that starts a Jupyter server, or null when none is installed. */
export function findJupyterServer(): { cmd: string; args: string[] } | null {
  if (existsSync('/usr/bin/jupyter-server')) return { cmd: '/usr/bin/jupyter-server', args: [] };
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import jupyter_server'], { stdio: 'ignore' });
    if (r.status === 0) return { cmd: py, args: ['-m', 'jupyter_server'] };
  }
  return null;
}

export const MISSING_JUPYTER =
  'no Jupyter server found: install it with `make setup` (Debian: apt-get install jupyter-server jupyter-client)';

/** Removes runtime dirs left by runner processes that were killed (their pid is gone). */
function removeStaleRuntimeDirs(base: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^run-(\d+)-/.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(path.join(base, n), { recursive: true, force: true });
    }
  }
}

export function jupyterEnv(dirs: JupyterDirs): NodeJS.ProcessEnv {
  removeStaleRuntimeDirs(path.join(dirs.localDir, 'runtime'));
  const sub = (n: string) => {
    const d = path.join(dirs.localDir, n);
    mkdirSync(d, { recursive: true });
    return d;
  };
  return {
    ...process.env,
    JUPYTER_PATH: [dirs.kernelSpecDir, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    JUPYTER_CONFIG_DIR: sub('config'),
    JUPYTER_DATA_DIR: sub('data'),
    // One runtime dir per server: its path in kernels' argv identifies this run's processes.
    JUPYTER_RUNTIME_DIR: sub(path.join('runtime', `run-${process.pid}-${randomBytes(4).toString('hex')}`)),
    JUPYTER_PLATFORM_DIRS: '1',
    PYTHONUNBUFFERED: '1',
    // Kernels inherit this: notebook progress then updates less often (each update is a terminal line).
    DRIVETRAIN_HEADLESS: '1',
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** PIDs of live processes whose command line mentions `needle` (e.g. our runtime dir). */
export function pidsMentioning(needle: string): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(needle)) pids.push(Number(name));
    } catch {
      /* process ended while we looked */
    }
  }
  return pids;
}

function killPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server process with what stop() and the start-up wait need to know about it. */
interface ServerProcess { pid: number; baseUrl: string; token: string; runtimeDir: string; exited(): boolean; stderr(): string }

function spawnServer(cmd: { cmd: string; args: string[] }, rootDir: string, env: NodeJS.ProcessEnv, port: number): ServerProcess {
  const runtimeDir = env.JUPYTER_RUNTIME_DIR!;
  const token = randomBytes(24).toString('hex');
  const args = [
    ...cmd.args,
    '--no-browser',
    '--allow-root',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--port-retries=0',
    `--ServerApp.token=${token}`,
    `--ServerApp.root_dir=${rootDir}`,
    // Our runtime dir in argv lets us find this server's processes by command line later.
    `--ServerApp.runtime_dir=${runtimeDir}`,
  ];
  // detached: own process group, so a terminal Ctrl-C reaches only us and we decide the order.
  const proc: ChildProcess = spawn(cmd.cmd, args, { env, cwd: rootDir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-8000);
  });
  let exited = false;
  proc.on('exit', () => (exited = true));
  return { pid: proc.pid!, baseUrl: `http://127.0.0.1:${port}/`, token, runtimeDir, exited: () => exited, stderr: () => stderr.trim() };
}

/** SIGKILL of the server's process group and of every process that mentions its runtime dir. */
function killServerNow(p: ServerProcess): void {
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  killPids(pidsMentioning(p.runtimeDir), 'SIGKILL');
}

/** Shutdown API, then SIGTERM of the group, then whatever still mentions the runtime dir. */
async function stopServer(p: ServerProcess): Promise<void> {
  if (!p.exited()) {
    try {
      await fetch(`${p.baseUrl}api/shutdown`, { method: 'POST', headers: { Authorization: `token ${p.token}` }, signal: AbortSignal.timeout(3000) });
    } catch {
      /* fall through to signals */
    }
    for (let i = 0; i < 30 && !p.exited(); i++) await sleep(100);
    if (!p.exited()) {
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 20 && !p.exited(); i++) await sleep(100);
    }
  }
  // Kernels live in their own sessions (jupyter_client start_new_session), so they may
  // survive the server: kill whatever still mentions our runtime dir (connection files).
  let left = pidsMentioning(p.runtimeDir);
  killPids(left, 'SIGTERM');
  for (let i = 0; i < 20 && left.length; i++) {
    await sleep(100);
    left = pidsMentioning(p.runtimeDir);
  }
  killServerNow(p);
  rmSync(p.runtimeDir, { recursive: true, force: true });
}

/** Polls api/status until the server answers; throws when it exits or 30 s pass. */
async function waitReady(p: ServerProcess): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (p.exited()) throw new Error(`jupyter server exited during start-up:\n${p.stderr()}`);
    try {
      const r = await fetch(`${p.baseUrl}api/status`, { headers: { Authorization: `token ${p.token}` }, signal: AbortSignal.timeout(1000) });
      if (r.ok) return true;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

export async function startJupyterServer(opts: { rootDir: string; dirs?: JupyterDirs; log?: (s: string) => void }): Promise<ServerHandle> {
  const found = findJupyterServer();
  if (!found) throw new Error(MISSING_JUPYTER);
  const env = jupyterEnv(opts.dirs ?? defaultDirs());
  const p = spawnServer(found, opts.rootDir, env, await freePort());
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= stopServer(p));
  if (!(await waitReady(p))) {
    await stop();
    throw new Error(`jupyter server did not answer within 30 s:\n${p.stderr()}`);
  }
  opts.log?.(`jupyter server ready at ${p.baseUrl} (pid ${p.pid})`);
  return { baseUrl: p.baseUrl, wsUrl: p.baseUrl.replace(/^http/, 'ws'), token: p.token, pid: p.pid, runtimeDir: p.runtimeDir, stop, killNow: () => killServerNow(p) };
}
