export * from './registry.js';
export * from './backward.js';
export * from './unbroadcast.js';
