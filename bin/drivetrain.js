#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so the command never runs stale built code.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

process.env.DRIVETRAIN_ROOT ??= join(dirname(fileURLToPath(import.meta.url)), '..');
register();
await import('../src/cli/main.ts');
