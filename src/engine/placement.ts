// Which nodes of a model onnxruntime places on which execution provider. ORT reports this only
// in its verbose log on stderr ("Node placements", logSeverityLevel 0), which a process cannot
// capture from itself, so a child process creates the session and the block is parsed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { packageRootOrCwd } from '../paths.js';

export interface Placement {
  /** Node counts per execution provider, e.g. { WebGpuExecutionProvider: 412 }. */
  counts: Record<string, number>;
  /** `Op (node name)` of every node placed on the CPU EP. */
  cpuNodes: string[];
}

const CHILD = `
const ort = require('onnxruntime-node');
const [file, opts] = [process.argv[1], JSON.parse(process.argv[2])];
ort.InferenceSession.create(require('fs').readFileSync(file), { ...opts, logSeverityLevel: 0, logVerbosityLevel: 0 })
  .then((s) => s.release()).catch((e) => { console.error('SESSION FAILED ' + e.message); process.exitCode = 1; });
`;

/** Placement of `model` created with `options` (executionProviders etc.; CPU fallback allowed). */
export function placementOf(model: Uint8Array, options: ort.InferenceSession.SessionOptions): Placement {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-placement-'));
  const file = path.join(dir, 'model.onnx');
  try {
    fs.writeFileSync(file, model);
    const { executionProviders, preferredOutputLocation, extra } = options;
    const session = { ...(extra as { session?: Record<string, string> } | undefined)?.session };
    delete session.disable_cpu_ep_fallback;
    const r = spawnSync(process.execPath, ['-e', CHILD, file, JSON.stringify({ executionProviders, preferredOutputLocation, extra: { session } })], {
      cwd: packageRootOrCwd(), encoding: 'utf8', timeout: 300_000, maxBuffer: 256 << 20,
    });
    if (r.status !== 0) throw new Error(`placement check failed: ${(r.stderr || '').split('\n').filter((l) => /SESSION FAILED|Error/.test(l)).pop() ?? `exit ${r.status}`}`);
    return parsePlacement(`${r.stdout}\n${r.stderr}`); // ORT's default logger writes to stdout
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses ORT's "Node placements" log block. */
export function parsePlacement(log: string): Placement {
  const counts: Record<string, number> = {};
  const cpuNodes: string[] = [];
  let ep: string | undefined;
  for (const line of log.split('\n')) {
    const head = /Node\(s\) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (head) { ep = head[1]; counts[ep] = Number(head[2]); continue; }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{3,}(\S.*)$/.exec(line);
    if (node && ep === 'CPUExecutionProvider') cpuNodes.push(node[1].trim());
    else if (!node && ep && /VerifyEachNodeIsAssignedToAnEp/.test(line) === false) ep = undefined;
  }
  return { counts, cpuNodes };
}
