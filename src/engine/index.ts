export * from './engine.js';
export * from './backend.js';
export * from './state.js';
export * from './graphs.js';
