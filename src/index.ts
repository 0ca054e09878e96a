// Public API, importable from a tslab cell run in the project root: `import { ... } from './src/index'`.
export * from './tensor.js';
export * from './errors.js';
export * from './onnx/index.js';
export * from './autodiff/index.js';
export * from './random.js';
export * from './checkpoint/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './engine/index.js';
export * from './data/index.js';
export * from './train/index.js';
export * from './storage/index.js';
export * from './backup/index.js';
export * as notebook from './notebook/index.js';
