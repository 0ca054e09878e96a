// Child for test/checkpoint-lock.test.ts: opens a CheckpointManager on argv[2] (taking the run
// lock), prints `locked <pid>`, and holds it until killed or stdin closes.
import { CheckpointManager } from '../../src/checkpoint/index.js';

const m = await CheckpointManager.open(process.argv[2], {}, { warn: (x) => process.stderr.write(`${x}\n`) });
process.stdout.write(`locked ${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => void m.close().then(() => process.exit(0)));
