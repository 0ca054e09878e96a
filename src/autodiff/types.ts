// The shape of a VJP rule and of the gradient config each rules/<Op>.ts exports.
import type { Graph, Node } from '../onnx/graph.js';

export interface VjpContext {
  g: Graph;
  node: Node;
  /** Gradient of each forward output (undefined: that output does not reach the loss). */
  dOut: (string | undefined)[];
  /** Whether input i needs a gradient (on the path from a parameter to the loss). */
  needs: boolean[];
  /** Name prefix for the emitted nodes. */
  scope: string;
}

/**
 * Returns the gradient for each input (undefined where not needed or not differentiable).
 * A gradient may have the *broadcast* shape of the op; the walker unbroadcasts it centrally.
 */
export type VjpRule = (ctx: VjpContext) => (string | undefined)[];

/** One op's gradient (tfjs-core's GradConfig): the ONNX op type and its VJP. */
export interface GradConfig {
  op: string;
  vjp: VjpRule;
}
