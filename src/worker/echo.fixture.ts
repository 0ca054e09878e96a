// Test fixture for client.test.ts: multiplies the numbers it receives by workerData.factor,
// notifies the count first; `die` ends the thread, `fail` throws an error with a code.
import type { ThreadContext, ThreadHandler } from './spawn.js';

type Req = number[] | 'die' | 'fail';

export function start(ctx: ThreadContext<{ count: number }>): ThreadHandler<Req, number[]> {
  const factor = (ctx.workerData as { factor: number }).factor;
  return (xs) => {
    if (xs === 'die') process.exit(3);
    if (xs === 'fail') throw Object.assign(new Error('asked to fail'), { code: 'EFIXTURE', detail: 7 });
    ctx.notify({ count: xs.length });
    return xs.map((x) => x * factor);
  };
}
