// Shape inference with every rule registered: the base ops (infer.ts) and convolution, pooling
// and normalisation (infer-nn.ts). Import inference from here, not from the rule files.
import './infer-nn.js';

export * from './infer.js';
