export * from './optimizer.js';
export * from './apply.js';
export * from './sgd.js';
export * from './adamw.js';
