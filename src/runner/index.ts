// Headless notebook runner (not re-exported from src/index.ts: notebooks never need it).
export * from './jupyter-server.js';
export * from './kernel-client.js';
export * from './notebook-file.js';
export * from './run-notebook.js';
export * from './kernel-install.js';
export * from './tslab-compat.js';
