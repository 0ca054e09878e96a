// Y = α·A'·B' + β·C (A' = transA ? Aᵀ : A): dA' = α·dY·B'ᵀ, dB' = α·A'ᵀ·dY, dC = β·dY (unbroadcast centrally).
import type { GradConfig } from '../types.js';
import { floatAttr } from './attrs.js';

export const gemmGrad: GradConfig = {
  op: 'Gemm',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [a, b, c] = node.inputs;
    const dy = dOut[0]!;
    const tA = node.attrs.transA === 1 ? 1 : 0, tB = node.attrs.transB === 1 ? 1 : 0;
    const alpha = floatAttr(node.attrs, 'alpha', 1);
    const beta = floatAttr(node.attrs, 'beta', 1);
    const gemm = (x: string, y: string, transA: number, transB: number) =>
      g.op('Gemm', [x, y], { transA, transB, alpha: { float: alpha } }, { scope });
    const res: (string | undefined)[] = [undefined, undefined, undefined];
    if (needs[0]) res[0] = tA ? gemm(b, dy, tB, 1) : gemm(dy, b, 0, 1 - tB);
    if (needs[1]) res[1] = tB ? gemm(dy, a, 1, tA) : gemm(a, dy, 1 - tA, 0);
    if (c && needs[2]) res[2] = beta === 1 ? dy : g.op('Mul', [dy, g.constant(beta, g.dtype(dy))], {}, { scope });
    return res;
  },
};
