// Worker-thread side of ThreadWriter (writer.ts): runs the manager's file operations one at a
// time, in arrival order, with node:fs on this thread's own event loop; replies with the result
// or the error.
import { parentPort } from 'node:worker_threads';
import { AtomicRenameTarget } from './commit.js';
import { nodeFs } from './fsio.js';
import { writeRunMetadata } from './metadata.js';
import { serializeError, writeAndCommit, type ThreadOp, type ThreadReply, type ThreadRequest } from './writer.js';

const port = parentPort!;
const reply = (r: ThreadReply) => port.postMessage(r);

function run(r: ThreadOp): Promise<unknown> {
  switch (r.op) {
    case 'write': return writeAndCommit(new AtomicRenameTarget(r.root, nodeFs), nodeFs, r.job);
    case 'remove': return new AtomicRenameTarget(r.root, nodeFs).remove(r.name);
    case 'metadata': return writeRunMetadata(r.runDir, r.meta, nodeFs);
  }
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (r: ThreadRequest) => {
  queue = queue.then(() => run(r)).then(
    (value) => reply({ id: r.id, value }),
    (e: unknown) => reply({ id: r.id, error: serializeError(e) }),
  );
});
