// d(−x) = −dy.
import { registerVjp } from '../registry.js';

registerVjp('Neg', ({ g, dOut, scope }) => [g.op('Neg', [dOut[0]!], {}, { scope })]);
