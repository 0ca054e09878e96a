// Training engine. Usage:
//   const engine = await Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }),
//     batchSize: 128, inputs: { x: { shape: [784] }, y: { shape: [], dtype: 'int64' } }, device: 'cpu', threads: 2, seed: 0 });
//   const m = await engine.step({ x, y });      // { loss, accuracy, … }; NonFiniteLossError on NaN/Inf (state untouched)
//   engine.setLr({ default: 5e-4 });            // lr.<group> are graph inputs: no rebuild
//   const state = await engine.getState();      // param.* opt.* buffer.* rng.* as host tensors
// Device-resident data: Engine.create({ …, device: 'webgpu', data: { tensors: { x: u8 [N,784], y: i64 [N] },
//   transform: { x: { scale: 1 / 255 } }, budgetBytes } }) uploads the dataset once (when it fits);
//   engine.stepIndices(idx) then uploads only idx and gathers the rows in the graph (device-data.ts).
// Partial last batches (b < batchSize) run in their own cached session built for b, on the same
// state: the loss is the mean over the b real samples and BatchNorm sees only them (no padding).
export * from './engine.js';
export * from './backend.js';
export * from './state.js';
export * from './graphs.js';
export * from './interop.js';
export * from './onnx-weights.js';
export * from './device-data.js';
export * from './inference.js';
export * from './state-dict.js';
export * from './doctor.js';
export * from './placement.js';
export * from './profile.js';
