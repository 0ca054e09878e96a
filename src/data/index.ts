export * from './dataset.js';
export * from './rng.js';
export * from './sampler.js';
export * from './glyphs.js';
export * from './mnist-digits.js';
