// Classic Notebook 6 (Debian's jupyter-notebook) on a loopback port, and headless Chromium
// (Debian's chromium through puppeteer-core) to drive it as a person would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { freePort, pidsMentioning } from '../../src/runner/index.js';

export const NOTEBOOK6 = '/usr/bin/jupyter-notebook';
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why the browser test cannot run: `skip` where apt is unavailable (the packages cannot be
 * installed here), `fail` where `make test` would have installed them.
 */
export function browserTestBlocker(): { skip?: string; fail?: string } {
  const missing = [existsSync(NOTEBOOK6) ? '' : 'jupyter-notebook', existsSync(CHROMIUM) ? '' : 'chromium'].filter(Boolean);
  if (!missing.length) return {};
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  const what = `Debian packages ${missing.join(' and ')} are not installed`;
  return apt ? { fail: `${what}: run \`make test\` (or \`bash scripts/setup-system.sh --test\` as root)` } : { skip: `${what} and apt-get is unavailable here` };
}

export interface Notebook6 {
  /** URL of a path under the notebook dir, with the token. */
  url(rel: string): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts Notebook 6 serving `notebookDir` with the project's kernel spec on JUPYTER_PATH. */
export async function startNotebook6(opts: { notebookDir: string; kernelSpecDir: string }): Promise<Notebook6> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const home = mkdtempSync(path.join(os.tmpdir(), 'dt-nb6-'));
  const runtime = path.join(home, 'runtime');
  mkdirSync(runtime);
  const env = { ...process.env, JUPYTER_PATH: opts.kernelSpecDir, JUPYTER_CONFIG_DIR: path.join(home, 'config'), JUPYTER_DATA_DIR: path.join(home, 'data'), JUPYTER_RUNTIME_DIR: runtime, PYDEVD_DISABLE_FILE_VALIDATION: '1' };
  const args = ['--no-browser', '--allow-root', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--NotebookApp.token=${token}`, `--NotebookApp.notebook_dir=${opts.notebookDir}`, `--NotebookApp.runtime_dir=${runtime}`];
  const proc: ChildProcess = spawn(NOTEBOOK6, args, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-6000)));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      const kernels = (await (await fetch(`${base}/api/kernels?token=${token}`)).json()) as { id: string }[];
      await Promise.all(kernels.map((k) => fetch(`${base}/api/kernels/${k.id}?token=${token}`, { method: 'DELETE' })));
    } catch {
      /* the server is gone already */
    }
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      try {
        process.kill(-proc.pid!, sig);
      } catch {
        /* gone */
      }
      for (let i = 0; i < 30 && proc.exitCode === null && proc.signalCode === null; i++) await sleep(100);
    }
    // Kernels run in their own sessions: whatever still names our runtime dir.
    for (const pid of pidsMentioning(runtime)) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  };
  for (let t = 0; ; t += 200) {
    if (proc.exitCode !== null) throw new Error(`jupyter-notebook exited during start-up:\n${log}`);
    try {
      if ((await fetch(`${base}/api/status?token=${token}`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (t > 60_000) {
      await stop();
      throw new Error(`jupyter-notebook did not answer within 60 s:\n${log}`);
    }
    await sleep(200);
  }
  return { url: (rel) => `${base}/notebooks/${rel}?token=${token}`, stop };
}

/**
 * Headless Chromium with a new empty profile, no network beyond loopback and none of its
 * background services.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'dt-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
