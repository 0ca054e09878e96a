#!/usr/bin/env node
// Starts the drivetrain kernel (tslab's compiler behind a Jupyter-conformant server: see
// src/kernel/). Before that it
// - listens for SIGINT first thing: Node's default action would kill the kernel when Jupyter's
//   Interrupt arrives while it loads;
// - runs cells in the project root when the notebook lives inside the project (or always, with
//   DRIVETRAIN_KERNEL_CWD=project, as the Colab setup installs it; `notebook` never moves):
//   cells import `./dist/notebook/index.js` and relative paths (runs/, drive/) resolve from there.
//   DRIVETRAIN_NOTEBOOK_DIR keeps the original cwd;
// - rebuilds dist/ when src/ is newer (scripts/build-dist.cjs; ~1.5 s incremental), so a
//   notebook never runs code older than src/.
'use strict';
let sigint = null;
process.on('SIGINT', () => sigint && sigint());

const path = require('node:path');
const fs = require('node:fs');
const { pathToFileURL } = require('node:url');

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
const inside = rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
const mode = process.env.DRIVETRAIN_KERNEL_CWD || 'auto';
if (mode === 'project' || (mode !== 'notebook' && inside)) process.chdir(root);

const args = process.argv.slice(2);
const i = args.indexOf('--config-path');
if (i < 0 || !args[i + 1]) {
  console.error('usage: tslab-kernel.cjs --config-path <connection file>');
  process.exit(2);
}
const configPath = args[i + 1];

const kernelMain = path.join(root, 'dist', 'kernel', 'main.js');
let notice;
try {
  const { ensureBuild } = require('../scripts/build-dist.cjs');
  const b = ensureBuild(root, { force: !fs.existsSync(kernelMain), log: (m) => console.error(`drivetrain kernel: ${m}`) });
  if (!b.ok) {
    notice = `drivetrain: src/ has TypeScript errors; dist/ (what notebooks import) was rebuilt anyway and may not match src/:\n${b.errors}\nFix them, then restart the kernel.`;
  }
} catch (e) {
  notice = `drivetrain: could not rebuild dist/ (${e.message}); notebooks import the previous build.`;
}

import(pathToFileURL(kernelMain).href).then(
  (m) =>
    m.startKernel({ configPath, root, notice, onSigint: (fn) => (sigint = fn) }).catch((e) => {
      console.error(`drivetrain kernel: failed to start: ${e.stack || e}`);
      process.exit(1);
    }),
  (e) => {
    console.error(`drivetrain kernel: cannot load ${kernelMain} (${e.message}); starting plain tslab (errors arrive as stderr text)`);
    process.removeAllListeners('SIGINT');
    require(tslabMain).startKernel({ configPath, enableFindLocal: false, jsKernel: false });
  },
);
