export * from './batchnorm.js';
