export * from './engine.js';
export * from './backend.js';
export * from './state.js';
export * from './graphs.js';
export * from './interop.js';
export * from './onnx-weights.js';
