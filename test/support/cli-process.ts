// `drivetrain …` as a child process for end-to-end tests: collects its output and waits for text.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Polls until the output matches, the process exits, or `ms` pass; returns whether it matched. */
  waitFor(pattern: RegExp | string, ms: number): Promise<boolean>;
}

export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'drivetrain.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let text = '';
  child.stdout!.on('data', (b) => (text += b));
  child.stderr!.on('data', (b) => (text += b));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const matches = (p: RegExp | string) => (typeof p === 'string' ? text.includes(p) : p.test(text));
  const waitFor = async (pattern: RegExp | string, ms: number) => {
    for (let t = 0; t < ms && !matches(pattern) && child.exitCode === null && child.signalCode === null; t += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return matches(pattern);
  };
  return { child, output: () => text, exited, waitFor };
}
