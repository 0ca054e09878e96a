import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Conv2d, crossEntropy, Flatten, Linear, ReLU, Sequential } from '../nn/index.js';
import { AdamW } from '../optim/index.js';
import { Engine } from './engine.js';
import { formatProfile, phaseOf, summarizeProfile } from './profile.js';

const dir = mkdtempSync(join(tmpdir(), 'drivetrain-profile-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('profile summary', () => {
  it('kernel time per step by op and phase, leaving out the first run', () => {
    const node = (name: string, op: string, ts: number, dur: number) => ({ cat: 'Node', name: `${name}_kernel_time`, ts, dur, args: { op_name: op } });
    const run = (ts: number, dur: number) => ({ cat: 'Session', name: 'model_run', ts, dur });
    const s = summarizeProfile([
      run(0, 100), node('backbone/conv1_node', 'Conv', 1, 90), // first run: planning, left out
      run(1000, 50), node('backbone/conv1_node', 'Conv', 1001, 20), node('grad_backbone/conv1_node_node', 'MatMul', 1021, 10), node('adamw/w_node', 'Mul', 1031, 2),
      { cat: 'Node', name: 'grad_x_fence_before', ts: 1040, dur: 0 },
      run(2000, 70), node('backbone/conv1_node', 'Conv', 2001, 30), node('grad_backbone/conv1_node_node', 'MatMul', 2031, 14), node('grad_backbone/conv1_node_node_2', 'MatMul', 2045, 6), node('adamw/w_node', 'Mul', 2051, 2),
    ]);
    expect(s.steps).toBe(2);
    expect(s.runMs).toBeCloseTo(0.06);
    expect(s.rows.map((r) => [r.op, r.phase, r.nodes])).toEqual([['Conv', 'forward', 1], ['MatMul', 'backward', 2], ['Mul', 'optimizer', 1]]);
    expect(s.rows[1].ms).toBeCloseTo(0.015);
    expect(s.rows[1].top).toEqual({ name: 'grad_backbone/conv1_node_node', ms: 0.012 });
    expect(formatProfile(s, 2)).toMatch(/\| Conv \| forward \| 0\.03 \| 60 % \| 1 \| backbone\/conv1_node 0\.03 \|[\s\S]*\| \(1 more\) \|/);
    expect([phaseOf('gradnorm_node'), phaseOf('step_node'), phaseOf('head/fc_node')]).toEqual(['optimizer', 'optimizer', 'forward']);
    expect(() => summarizeProfile([])).toThrow(/no model_run events/);
  });
});

describe('DRIVETRAIN_PROFILE', () => {
  it("writes onnxruntime's trace per session and prints the top ops per step when the engine is released", async () => {
    process.env.DRIVETRAIN_PROFILE = dir;
    const logs: string[] = [];
    try {
      const model = new Sequential({ conv: new Conv2d(1, 4, 3, { padding: 1 }), act: new ReLU(), flat: new Flatten(), fc: new Linear(4 * 6 * 6, 3) });
      const e = await Engine.create({
        model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }), batchSize: 8, threads: 1, log: (m) => logs.push(m),
        inputs: { x: { shape: [1, 6, 6] }, y: { shape: [], dtype: 'int64' } },
      });
      const batch = { x: { dtype: 'float32' as const, shape: [8, 1, 6, 6], data: new Float32Array(288).fill(0.5) }, y: { dtype: 'int64' as const, shape: [8], data: new BigInt64Array(8) } };
      for (let i = 0; i < 3; i++) await e.step(batch);
      await e.release();
    } finally {
      delete process.env.DRIVETRAIN_PROFILE;
    }
    expect(readdirSync(dir).filter((f) => /^train-b8-p\d+-\d+_.*\.json$/.test(f))).toHaveLength(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^drivetrain profile: train:8 session, .*\.json\n2 step\(s\): [\d.]+ ms\/step run time/);
    expect(logs[0]).toMatch(/\| (Fused)?Conv \| forward \|/);
    expect(logs[0]).toMatch(/\| \w+ \| backward \|/);
  });
});
