// Public API, importable from a tslab cell: `import { ... } from '../src/index'`.
export * from './tensor.js';
