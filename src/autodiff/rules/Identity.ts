// y = x: dx = dy.
import { registerVjp } from '../registry.js';

registerVjp('Identity', ({ dOut }) => [dOut[0]]);
