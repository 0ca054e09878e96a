#!/usr/bin/env node
// Builds dist/ (the JavaScript that notebooks and the drivetrain kernel import) with
// tsconfig.build.json when src/ changed since the last build. Used by `make setup`, the kernel
// launcher (so a kernel never imports code older than src/) and `drivetrain kernel check`.
// Plain CommonJS: it must run before anything is built. Concurrent callers (several kernels
// starting at once) take turns through a lock directory; the second finds dist fresh.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const STAMP = path.join('dist', '.build-stamp');
const LOCK = path.join('node_modules', '.cache', 'drivetrain-build.lock');
const LOCK_STALE_MS = 300_000;

/** Newest modification time of what the build reads (src/ files and folders, configs). */
function newestInput(root) {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    newest = Math.max(newest, st.mtimeMs);
    if (!st.isDirectory()) return;
    for (const name of fs.readdirSync(p)) {
      if (name.endsWith('.test.ts')) continue;
      visit(path.join(p, name));
    }
  };
  visit(path.join(root, 'src'));
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) visit(path.join(root, f));
  return newest;
}

/** True when dist/ is missing or older than src/. */
function isStale(root) {
  try {
    return fs.statSync(path.join(root, STAMP)).mtimeMs < newestInput(root);
  } catch {
    return true;
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function withLock(root, fn) {
  const lock = path.join(root, LOCK);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (let waited = 0; ; waited += 200) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let age = 0;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      if (age > LOCK_STALE_MS) fs.rmSync(lock, { recursive: true, force: true });
      else if (waited > LOCK_STALE_MS) throw new Error(`${lock} is held for over ${LOCK_STALE_MS / 1000} s; remove it if no build runs`);
      else sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Rebuilds dist/ when stale (or always with `force`). Returns `{ built, ok, errors, seconds }`:
 * `ok` is false when tsc reported errors (it still emits JavaScript, so dist/ is usable but
 * may not match src/), `errors` holds its output.
 */
function ensureBuild(root, opts = {}) {
  const log = opts.log || (() => {});
  if (!opts.force && !isStale(root)) return { built: false, ok: true, errors: '', seconds: 0 };
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) {
    return { built: false, ok: false, errors: `cannot build dist/: ${tsc} is missing; run \`npm ci\` in ${root}`, seconds: 0 };
  }
  return withLock(root, () => {
    if (!opts.force && !isStale(root)) return { built: false, ok: true, errors: '', seconds: 0 };
    log('building dist/ from src/ (tsconfig.build.json)…');
    const started = Date.now();
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    const seconds = (Date.now() - started) / 1000;
    if (r.status === 0) {
      // Stamped with the start time: a file saved during the build makes the next check rebuild.
      const stamp = path.join(root, STAMP);
      fs.writeFileSync(stamp, `built ${new Date(started).toISOString()}\n`);
      fs.utimesSync(stamp, new Date(started), new Date(started));
      return { built: true, ok: true, errors: '', seconds };
    }
    const errors = `${r.stdout || ''}${r.stderr || ''}${r.error ? String(r.error) : ''}`.trim() || `tsc exited with status ${r.status}`;
    return { built: true, ok: false, errors, seconds };
  });
}

module.exports = { ensureBuild, isStale };

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const r = ensureBuild(root, { force: process.argv.includes('--force'), log: (m) => console.error(`build-dist: ${m}`) });
  if (!r.ok) {
    console.error(`build-dist: TypeScript errors in src/:\n${r.errors}`);
    process.exit(1);
  }
  console.error(r.built ? `build-dist: dist/ built in ${r.seconds.toFixed(1)} s` : 'build-dist: dist/ is up to date');
}
