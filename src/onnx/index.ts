export * from './graph.js';
export * from './infer.js';
import './infer-nn.js';
export * from './model.js';
export * from './dtypes.js';
export * from './session.js';
export * from './lower/index.js';
