// y = min over axes: dx = dy·[x = y]/#ties, broadcast along the axes (same routing as ReduceMax).
import { registerVjp } from '../registry.js';
import { reduceSelectVjp } from './ReduceMax.js';

registerVjp('ReduceMin', reduceSelectVjp);
