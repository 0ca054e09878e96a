// Demo of the checkpoint core (for `make demo` until the trainer exists): a training loop
// child saves every step; we kill -9 it, pick the newest verified checkpoint, and start it again
// to show it resumes from there. Usage: node --import tsx test/support/checkpoint-demo.ts [BASE]
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createRun, formatRunsTable, listRuns, selectResume } from '../../src/checkpoint/index.js';

const base = path.resolve(process.argv[2] ?? 'runs');
const { runDir } = await createRun(base);
const crasher = path.join(import.meta.dirname, 'checkpoint-crasher.ts');

function start(): { child: ChildProcess; wait(pred: (word: string, n: number) => boolean): Promise<number> } {
  const child = spawn(process.execPath, ['--import', 'tsx', crasher, runDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  const waiters: [(w: string, n: number) => boolean, (n: number) => void][] = [];
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      const [w, n] = buf.slice(0, i).split(' ');
      for (const x of [...waiters]) if (x[0](w, Number(n))) waiters.splice(waiters.indexOf(x), 1), x[1](Number(n));
    }
  });
  return { child, wait: (pred) => new Promise((res) => waiters.push([pred, res])) };
}

const kill = (c: ChildProcess) => new Promise((res) => (c.on('exit', res), c.kill('SIGKILL')));

console.log(`run directory: ${runDir}`);
const a = start();
let lastDurable = 0;
await a.wait((w, n) => w === 'durable' && (lastDurable = n) >= 500);
await kill(a.child);
console.log(`1. training process saved every step; killed with SIGKILL after step ${lastDurable} was reported durable`);
const choice = await selectResume(runDir);
if (!choice) throw new Error('no checkpoint found');
console.log(`2. newest verified checkpoint: ${choice.name} (global step ${choice.manifest.globalStep} >= ${lastDurable})`);
const b = start();
const resumed = await b.wait((w) => w === 'ready');
console.log(`3. restarted: resumed at global step ${resumed}, tensors checked against that step`);
await b.wait((w, n) => w === 'durable' && n > resumed + 100);
await kill(b.child);
console.log(`4. runs under ${base}:\n${formatRunsTable(await listRuns(base))}`);
