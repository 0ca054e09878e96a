#!/usr/bin/env node
// Starts tslab for drivetrain notebooks. tslab compiles imported .ts files only when they lie
// under the kernel's working directory (it sets TypeScript's rootDir to it), so a notebook in
// notebooks/ could not import ../src. We therefore start tslab in the project root whenever
// the notebook lives inside the project; cells import `./src/index` and relative file paths
// (runs/, drive/) resolve from the project root. DRIVETRAIN_NOTEBOOK_DIR keeps the original cwd.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const tslabMain = path.join(root, 'node_modules', 'tslab', 'dist', 'main.js');
if (!fs.existsSync(tslabMain)) {
  console.error(`drivetrain kernel: ${tslabMain} is missing; run \`npm ci\` in ${root}`);
  process.exit(1);
}
const cwd = process.cwd();
process.env.DRIVETRAIN_NOTEBOOK_DIR = cwd;
process.env.DRIVETRAIN_ROOT = root;
const rel = path.relative(root, cwd);
if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) process.chdir(root);

const args = process.argv.slice(2);
const i = args.indexOf('--config-path');
if (i < 0 || !args[i + 1]) {
  console.error('usage: tslab-kernel.cjs --config-path <connection file>');
  process.exit(2);
}
require(tslabMain).startKernel({ configPath: args[i + 1], enableFindLocal: false, jsKernel: false });
