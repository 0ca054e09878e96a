// Device lowering (DESIGN.md 5a): after autodiff, before a session, rewrite a standard-op graph
// into one the chosen execution provider runs entirely. CPU: the identity (the graphs the
// engine builds are already the fastest CPU forms, and stay bitwise as they are). WebGPU: the
// op rules (webgpu-ops.ts, maxpool.ts), then int64 → int32 (int32.ts) and the int32 fix-ups.
import type { Graph } from '../graph.js';
import { INT32_RULES, retypeInt64 } from './int32.js';
import { maxPoolIndices } from './maxpool.js';
import { rewriteNodes } from './rewrite.js';
import { WEBGPU_OP_RULES } from './webgpu-ops.js';

export type { LoweringRule } from './rewrite.js';
export { rewriteNodes } from './rewrite.js';

export type LoweringTarget = 'cpu' | 'webgpu';

export interface LoweringReport {
  target: LoweringTarget;
  /** Nodes rewritten, by rule name. */
  rules: Record<string, number>;
  /** Graph inputs / outputs that were int64 and are int32 now (the caller converts them). */
  int32Inputs: string[];
  int32Outputs: string[];
}

/** Rules applied for WebGPU before the int64 → int32 pass, in order. */
export const WEBGPU_RULES = [...WEBGPU_OP_RULES, maxPoolIndices];

function dropUnusedInitializers(g: Graph): void {
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const name of [...g.initializers.keys()]) if (!read.has(name) && !g.outputs.includes(name)) g.initializers.delete(name);
}

/** Lowers `g` in place for `target` and reports what changed. */
export function lowerGraph(g: Graph, target: LoweringTarget): LoweringReport {
  if (target === 'cpu') return { target, rules: {}, int32Inputs: [], int32Outputs: [] };
  if (target !== 'webgpu') throw new Error(`lowering: unknown target ${JSON.stringify(target)} (cpu or webgpu)`);
  const rules = Object.fromEntries(rewriteNodes(g, WEBGPU_RULES));
  const { inputs, outputs } = retypeInt64(g);
  Object.assign(rules, Object.fromEntries(rewriteNodes(g, INT32_RULES)));
  dropUnusedInitializers(g);
  return { target, rules, int32Inputs: inputs, int32Outputs: outputs };
}
