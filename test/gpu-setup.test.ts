// `make setup`'s WebGPU part (scripts/setup-gpu.sh, dry run) and `drivetrain doctor`, including a
// host where WebGPU has no adapter at all (a child process whose Vulkan loader sees no driver).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceReport, formatDeviceReport } from '../src/engine/doctor.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-gpu-setup-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(env: Record<string, string>): string {
  return execFileSync('bash', ['scripts/setup-gpu.sh'], { encoding: 'utf8', env: { ...process.env, DRIVETRAIN_SETUP_DRY_RUN: '1', ...env } });
}

describe('make setup: WebGPU userland', () => {
  it('an NVIDIA host without the Vulkan ICD gets libvulkan1 and the driver-matching libnvidia-gl-<major>', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'nvidia-smi'), '#!/bin/sh\necho "550.54.15"\n', { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}`, DRIVETRAIN_VULKAN_ICD_DIRS: path.join(tmp, 'no-icds') };
    expect(setup({ ...env, DRIVETRAIN_FAKE_NO_LOADER: '1' })).toMatch(/\+ apt-get install -y --no-install-recommends libvulkan1 libnvidia-gl-550\n/);
    fs.mkdirSync(path.join(tmp, 'icds'));
    fs.writeFileSync(path.join(tmp, 'icds', 'nvidia_icd.json'), '{"ICD":{"library_path":"libGLX_nvidia.so.0"}}');
    expect(setup({ ...env, DRIVETRAIN_VULKAN_ICD_DIRS: path.join(tmp, 'icds') })).toMatch(/NVIDIA driver 550\.54\.15 with its Vulkan ICD and the Vulkan loader: nothing to install/);
  });

  it('without any WebGPU adapter: Mesa lavapipe (Debian 12: from bookworm-backports)', () => {
    const out = setup({ DRIVETRAIN_FAKE_NO_ADAPTER: '1' });
    const osr = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
    if (/^ID=debian$/m.test(osr) && /^VERSION_ID="?12"?$/m.test(osr)) expect(out).toMatch(/\+ apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1/);
    else expect(out).toMatch(/mesa-vulkan-drivers libvulkan1/);
  });
});

describe('drivetrain doctor', () => {
  it('reports the device auto picks, the adapter kind, the Vulkan drivers and what is missing', async () => {
    const r = await deviceReport(); // in this process; the CLI is run below
    expect(formatDeviceReport(r)).toMatch(/device 'auto' .*\n\s+device 'webgpu' .*\n\s+adapter .*\n\s+Vulkan loader .*\n\s+Vulkan drivers /);
    expect(['cpu', 'webgpu']).toContain(r.auto.device);
    if (r.webgpu.adapter === 'software') {
      expect(r.auto.device).toBe('cpu');
      expect(r.auto.reason).toMatch(/software Vulkan driver .*'auto' never picks it/);
      expect(r.icds.some((i: { software: boolean }) => i.software)).toBe(true);
    }
    if (r.webgpu.adapter === 'hardware') expect(r.auto.device).toBe('webgpu');
    expect(Array.isArray(r.missing)).toBe(true);
  });

  it("with no Vulkan driver at all: doctor names what is missing, 'webgpu' fails naming it, 'auto' trains on the CPU and says why", () => {
    const env = { ...process.env, VK_ICD_FILENAMES: path.join(tmp, 'none.json'), VK_DRIVER_FILES: path.join(tmp, 'none.json') };
    const doc = spawnSync(process.execPath, ['bin/drivetrain.js', 'doctor', '--check', 'webgpu'], { encoding: 'utf8', env });
    expect(doc.status).toBe(1);
    expect(doc.stdout).toMatch(/device 'auto'\s+cpu — no GPU Vulkan driver/);
    expect(doc.stdout).toMatch(/device 'webgpu'\s+fails: /);
    expect(doc.stdout).toMatch(/missing .*software Vulkan driver .*make setup/s);
    const script = `
      import { Engine } from './src/engine/index.js';
      import { crossEntropy, Linear } from './src/nn/index.js';
      import { SGD } from './src/optim/index.js';
      import { isUserError } from './src/errors.js';
      const opts = { model: new Linear(4, 2), loss: crossEntropy(), optimizer: new SGD({ lr: 0.1 }), batchSize: 2, inputs: { x: { shape: [4] }, y: { shape: [], dtype: 'int64' } } };
      try { await Engine.create({ ...opts, device: 'webgpu' }); } catch (e) { console.log('WEBGPU ' + e.constructor.name + ': ' + e.message); console.log('USER ERROR ' + isUserError(e)); }
      const e = await Engine.create({ ...opts, device: 'auto' });
      console.log('AUTO ' + e.device);`;
    const f = path.join(process.cwd(), `.gpu-setup-test-${process.pid}.mts`);
    fs.writeFileSync(f, script);
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', f], { encoding: 'utf8', env });
      expect(r.stdout).toMatch(/WEBGPU DeviceUnavailableError: WebGPU is not available: .*Missing: /);
      expect(r.stdout).toMatch(/USER ERROR true/);
      expect(r.stdout).toMatch(/drivetrain: device auto → cpu \(no GPU Vulkan driver \(ICD\) is installed\)/);
      expect(r.stdout).toMatch(/AUTO cpu/);
    } finally {
      fs.rmSync(f, { force: true });
    }
  });
});
