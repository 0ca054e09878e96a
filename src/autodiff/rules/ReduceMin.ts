// y = min over axes: dx = dy·[x = y]/#ties, broadcast along the axes (same routing as ReduceMax).
import type { GradConfig } from '../types.js';
import { reduceSelectVjp } from './ReduceMax.js';

export const reduceMinGrad: GradConfig = { op: 'ReduceMin', vjp: reduceSelectVjp };
