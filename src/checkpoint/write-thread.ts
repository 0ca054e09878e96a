// Worker-thread side of ThreadWriter (writer.ts), served by src/worker: runs the manager's file
// operations one at a time, in arrival order, with node:fs on this thread's own event loop.
import { AtomicRenameTarget } from './commit.js';
import { nodeFs } from './fsio.js';
import { writeRunMetadata } from './metadata.js';
import { writeAndCommit, type ThreadOp } from './writer.js';
import type { ThreadHandler } from '../worker/spawn.js';

function run(r: ThreadOp): Promise<unknown> {
  switch (r.op) {
    case 'write': return writeAndCommit(new AtomicRenameTarget(r.root, nodeFs), nodeFs, r.job);
    case 'remove': return new AtomicRenameTarget(r.root, nodeFs).remove(r.name);
    case 'metadata': return writeRunMetadata(r.runDir, r.meta, nodeFs);
  }
}

export function start(): ThreadHandler<ThreadOp, unknown> {
  let queue: Promise<unknown> = Promise.resolve();
  return (op) => {
    const done = queue.then(() => run(op));
    queue = done.catch(() => undefined);
    return done;
  };
}
