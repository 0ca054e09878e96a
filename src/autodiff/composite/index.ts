export * from './batchnorm.js';
export * from './dropout.js';
