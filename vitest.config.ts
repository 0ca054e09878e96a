import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time even on 2 cores (vitest's default there is one): many tests wait on
    // child processes, kernels, a Jupyter server or Chromium. Measured on 2 cores: 540 s for the
    // whole suite, whose test files add up to 945 s.
    maxWorkers: 2,
    setupFiles: ['test/support/device-checks.setup.ts'],
  },
});
