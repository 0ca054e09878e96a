// y = min over axes: dx = dy·[x = y]/#ties, broadcast along the axes (same routing as ReduceMax).
import { registerVjp } from '../registry.js';
import { reduceSelectVjp } from './ReduceMax.js';

registerVjp('ReduceMin', reduceSelectVjp);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
