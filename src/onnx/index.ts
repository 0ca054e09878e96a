export * from './graph.js';
export * from './inference.js';
export * from './model.js';
export * from './dtypes.js';
export * from './session.js';
export * from './lower/index.js';
