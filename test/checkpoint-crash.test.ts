// Crash test: a child saves every step and reports durable steps; we kill -9 it at random
// moments. After every kill, selectResume must return a checkpoint that verifies, with
// step >= the last step reported durable, and tensors matching that step. Never a torn one.
// CRASH_TRIALS=5000 runs more (default 100, sized for the 15-minute CI suite); children run CRASH_PAR at a time (default 3).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';
import { loadCheckpoint, selectResume } from '../src/checkpoint/index.js';

const TRIALS = Number(process.env.CRASH_TRIALS ?? 100);
const PAR = Number(process.env.CRASH_PAR ?? 3);
const work = await mkdtemp(path.join(tmpdir(), 'ckpt-crash-'));
afterAll(() => rm(work, { recursive: true, force: true }));

interface Trial { lastDurable: number; ready: number | null; stderr: string; code: number | null; signal: string | null }

function runTrial(script: string, runDir: string, rnd: () => number): Promise<Trial> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, runDir, '16384'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const t: Trial = { lastDurable: -1, ready: null, stderr: '', code: null, signal: null };
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = () => child.kill('SIGKILL');
    // 20%: any moment from spawn (open / lock takeover / cleanup / resume); 30%: 0-150 ms after
    // `ready`; 50%: 0-20 ms after the 1st-3rd durable report of this trial (mid-write kills)
    const mode = rnd();
    const afterDurable = mode >= 0.5 ? 1 + Math.floor(rnd() * 3) : 0;
    let durables = 0;
    if (mode < 0.2) timer = setTimeout(kill, rnd() * 250);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [word, n] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        if (word === 'durable') {
          t.lastDurable = Math.max(t.lastDurable, Number(n));
          if (++durables === afterDurable && !timer) timer = setTimeout(kill, rnd() * 20);
        }
        if (word === 'ready') {
          t.ready = Number(n);
          if (!timer && !afterDurable) timer = setTimeout(kill, rnd() * 150);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (t.stderr += d.toString()));
    const guard = setTimeout(kill, 20_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      t.code = code;
      t.signal = signal;
      resolve(t);
    });
  });
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

it(`kill -9 at random moments (${TRIALS} trials): resume always finds a verified checkpoint at or after the last durable step`, async () => {
  const script = path.join(work, 'crasher.mjs');
  await build({ entryPoints: [path.join(import.meta.dirname, 'support/checkpoint-crasher.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: script, logLevel: 'error' });
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1e9);
  let done = 0;
  let killedMidLoop = 0;
  let maxStep = 0;
  const worker = async (w: number) => {
    const runDir = path.join(work, `run_${w}`);
    const rnd = rng(seed + w * 7919);
    let known = -1; // highest step ever reported durable in this run dir
    while (done < TRIALS) {
      done++;
      const t = await runTrial(script, runDir, rnd);
      const ctx = `seed ${seed}, worker ${w}, trial ${done}; child stderr: ${t.stderr.slice(-2000)}`;
      expect(t.signal, `child should die by SIGKILL (exit code ${t.code}); ${ctx}`).toBe('SIGKILL');
      if (t.ready !== null) expect(t.ready, ctx).toBeGreaterThanOrEqual(known);
      if (process.env.CRASH_DEBUG) console.log(w, t.ready, t.lastDurable, t.stderr.length);
      known = Math.max(known, t.lastDurable);
      if (t.lastDurable >= 0) killedMidLoop++;
      const warnings: string[] = [];
      const c = await selectResume(runDir, { warn: (m) => warnings.push(m) });
      expect(warnings, `no torn/corrupt checkpoint may be visible; ${ctx}`).toEqual([]);
      if (known < 0) continue;
      expect(c, ctx).not.toBeNull();
      expect(c!.manifest.globalStep, ctx).toBeGreaterThanOrEqual(known);
      const l = await loadCheckpoint(c!.dir);
      const step = l.state.globalStep;
      expect(l.tensors.get('param.a')!.data[5], ctx).toBe(step * 4);
      expect(l.tensors.get('opt.m.a')!.data[100], ctx).toBe(step * 4 + 2);
      expect(l.state.sampler?.position, ctx).toBe(step);
      maxStep = Math.max(maxStep, step);
    }
  };
  await Promise.all(Array.from({ length: PAR }, (_, w) => worker(w)));
  console.log(`crash test: ${TRIALS} kills (seed ${seed}), ${killedMidLoop} after durable saves, reached step ${maxStep}`);
  expect(killedMidLoop).toBeGreaterThan(TRIALS / 3);
}, 600_000);
