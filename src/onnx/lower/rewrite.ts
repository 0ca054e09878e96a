// Node rewriting for device lowering: a rule replaces one node by a subgraph of standard ops.
// The new nodes take the old node's place in the (topological) node list, and the old output
// names are kept (the new value that replaces an output is renamed to it), so consumers, graph
// outputs and state names are untouched. A replacement may change an output's dtype (int64
// indices become int32); the int32 pass after the rules fixes the consumers.
import type { Graph, Node } from '../graph.js';

export interface LoweringRule {
  /** Short name, reported per lowered graph (e.g. `log-softmax`). */
  name: string;
  /** Op types the rule looks at. */
  ops: readonly string[];
  /**
   * Builds the replacement with g.op()/g.node() and returns the value replacing each of
   * node.outputs (undefined for an output nothing reads), or undefined to leave the node.
   * `used(v)`: whether value v is read by any node or is a graph output.
   */
  apply(g: Graph, node: Node, used: (v: string | undefined) => boolean): (string | undefined)[] | undefined;
}

/** Which values each node reads, for "is this output used" checks. */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) (m.get(i) ?? m.set(i, []).get(i)!).push(n);
  return m;
}

/** True when `value` is read by a node or is a graph output. */
export function isUsed(g: Graph, value: string | undefined, uses = consumers(g)): boolean {
  return !!value && ((uses.get(value)?.length ?? 0) > 0 || g.outputs.includes(value));
}

function renameIn(nodes: Node[], from: string, to: string): void {
  for (const n of nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    n.outputs = n.outputs.map((o) => (o === from ? to : o));
  }
}

/** Applies `rules` to every node once, in order; returns how many nodes each rule rewrote. */
export function rewriteNodes(g: Graph, rules: readonly LoweringRule[]): Map<string, number> {
  const counts = new Map<string, number>();
  const uses = consumers(g);
  const used = (v: string | undefined) => isUsed(g, v, uses);
  const original = g.nodes.splice(0, g.nodes.length);
  const result: Node[] = [];
  const subst = new Map<string, string>(); // an output replaced by a value that existed before
  const dropped = new Set<string>();
  for (const n of original) {
    n.inputs = n.inputs.map((i) => subst.get(i) ?? i);
    const rule = rules.find((r) => r.ops.includes(n.op));
    const repl = rule?.apply(g, n, used);
    const added = g.nodes.splice(0, g.nodes.length);
    if (!repl) {
      if (added.length) throw new Error(`lowering rule ${rule?.name}: built nodes for ${n.name} but returned no replacement`);
      result.push(n);
      continue;
    }
    counts.set(rule!.name, (counts.get(rule!.name) ?? 0) + 1);
    const produced = new Set(added.flatMap((a) => a.outputs));
    n.outputs.forEach((old, k) => {
      const nv = repl[k];
      if (!old) return;
      if (nv === undefined) {
        dropped.add(old);
        g.values.delete(old);
      } else if (produced.has(nv) && !g.outputs.includes(nv)) {
        renameIn(added, nv, old);
        g.values.set(old, g.info(nv));
        g.values.delete(nv);
        produced.delete(nv);
      } else subst.set(old, nv);
    });
    result.push(...added);
  }
  g.nodes.push(...result);
  for (const d of dropped) if (g.nodes.some((n) => n.inputs.includes(d)) || g.outputs.includes(d)) throw new Error(`lowering: ${d} was dropped but is still read`);
  for (const [old, nv] of subst) {
    if (!g.outputs.includes(old)) continue;
    g.nodes.push({ op: 'Identity', inputs: [nv], outputs: [old], attrs: {}, name: g.fresh(`${old}_lowered_identity`) });
    g.values.set(old, g.info(nv));
  }
  return counts;
}
