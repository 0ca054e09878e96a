// Test fixture for client.test.ts: multiplies the numbers it receives by workerData.factor,
// notifying the count first; 'fail' throws an error with fields.
import type { ThreadContext, ThreadHandler } from './spawn.js';

export function start(ctx: ThreadContext<{ count: number }>): ThreadHandler<number[] | 'fail', number[]> {
  const factor = (ctx.workerData as { factor: number }).factor;
  return (xs) => {
    if (xs === 'fail') throw Object.assign(new Error('asked to fail'), { code: 'EFIXTURE', detail: 7 });
    ctx.notify({ count: xs.length });
    return xs.map((x) => x * factor);
  };
}
