export * from './registry.js';
export * from './backward.js';
export * from './unbroadcast.js';
export * from './composite/index.js';
