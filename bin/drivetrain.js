#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so the command never runs stale built code.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
