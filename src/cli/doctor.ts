// `drivetrain doctor`: the device report (src/engine/doctor.ts). `--check hardware|webgpu` exits 0
// only when a hardware adapter / any WebGPU adapter works (for scripts such as make setup).
import { Option, type Command } from 'commander';
import { deviceReport, formatDeviceReport } from '../engine/doctor.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description("Which device training uses here (auto / webgpu), the WebGPU adapter (hardware or software), the GPU driver and Vulkan pieces found, and what is missing")
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--check <what>', "exit with status 1 unless this works: 'hardware' (a GPU adapter) or 'webgpu' (any adapter)").choices(['hardware', 'webgpu']))
    .action(async (o: { json?: boolean; check?: 'hardware' | 'webgpu' }) => {
      const r = await deviceReport();
      console.log(o.json ? JSON.stringify(r, null, 2) : formatDeviceReport(r));
      if (o.check === 'hardware' && r.webgpu.adapter !== 'hardware') process.exitCode = 1;
      if (o.check === 'webgpu' && !r.webgpu.adapter) process.exitCode = 1;
    });
}
