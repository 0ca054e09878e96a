export * from './module.js';
export * from './init.js';
export * from './layers.js';
export * from './norm.js';
export * from './loss.js';
export * from './select.js';
export * from './residual.js';
export * from './resnet.js';
