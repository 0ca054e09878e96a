// Helpers for the trainer process tests: spawn the child trainer, kill it at a step, compare runs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../../src/checkpoint/dir.js';
import { selectResume } from '../../src/checkpoint/resume.js';
import type { TensorMap } from '../../src/tensor.js';
import { bytesOf } from '../../src/tensor.js';

const CHILD = path.resolve('test/support/trainer-child.ts');

export interface ChildResult { code: number | null; signal: NodeJS.Signals | null; out: string; steps: number[] }

/**
 * Runs the child trainer on `configFile`. `killAt`: when it prints STEP ≥ killAt, send `sig`
 * (default SIGKILL); `killOn`: the same when a line matches (a RegExp, or a predicate).
 */
export function runChild(configFile: string, opts: { killAt?: number; killOn?: RegExp | ((line: string) => boolean); sig?: NodeJS.Signals; env?: Record<string, string> } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const steps: number[] = [];
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!sent && opts.killOn && (typeof opts.killOn === 'function' ? opts.killOn(line) : opts.killOn.test(line))) {
          sent = true;
          p.kill(opts.sig ?? 'SIGKILL');
        }
        const m = /^STEP (\d+)$/.exec(line);
        if (m) {
          const g = Number(m[1]);
          steps.push(g);
          if (!sent && opts.killAt !== undefined && g >= opts.killAt) {
            sent = true;
            p.kill(opts.sig ?? 'SIGKILL');
          }
        }
      }
    });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, out, steps }));
  });
}

export function writeConfig(dir: string, name: string, cfg: Record<string, unknown>): string {
  fs.mkdirSync(dir, { recursive: true });
  const f = path.join(dir, `${name}.json`);
  fs.writeFileSync(f, JSON.stringify(cfg));
  return f;
}

/** The newest valid checkpoint of a run, fully loaded. */
export async function finalCheckpoint(runDir: string) {
  const c = await selectResume(runDir, { warn: () => undefined });
  if (!c) throw new Error(`no checkpoint in ${runDir}`);
  return loadCheckpoint(c.dir);
}

/** Names of tensors whose bytes differ (or exist on one side only). */
export function diffTensors(a: TensorMap, b: TensorMap): string[] {
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k), y = b.get(k);
    if (!x || !y) { out.push(`${k} (missing on one side)`); continue; }
    if (x.dtype !== y.dtype || x.shape.join() !== y.shape.join() || !Buffer.from(bytesOf(x.data)).equals(Buffer.from(bytesOf(y.data)))) out.push(k);
  }
  return out;
}

/** Step losses by global step from a run's metrics.jsonl. */
export function stepLosses(runDir: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!l.trim()) continue;
    const r = JSON.parse(l);
    if (r.type === 'step') m.set(r.globalStep, r.loss);
  }
  return m;
}
