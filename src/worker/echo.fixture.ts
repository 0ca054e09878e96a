// Test fixture for spawn.test.ts: multiplies the numbers it receives by workerData.factor.
import { parentPort, workerData } from 'node:worker_threads';

const factor: number = (workerData as { factor: number }).factor;
parentPort!.on('message', (xs: number[]) => parentPort!.postMessage(xs.map((x) => x * factor)));
