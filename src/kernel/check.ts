// `drivetrain kernel check` for what the notebooks import: the built package (dist/), which
// tslab type-checks from its .d.ts files in ~1 s instead of compiling src/ (17-57 s).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tslabConvert, type CompatDiagnostic } from '../runner/tslab-compat.js';

/** The module the notebooks' import cells name (relative to the project root). */
export const NOTEBOOK_IMPORT = 'dist/notebook/index.js';

interface BuildResult {
  built: boolean;
  ok: boolean;
  errors: string;
  seconds: number;
}

/** scripts/build-dist.cjs: rebuilds dist/ when src/ is newer (the kernel launcher runs it too). */
export function ensureBuild(root: string, log: (m: string) => void = () => {}): BuildResult {
  const req = createRequire(path.join(root, 'package.json'));
  const { ensureBuild: build } = req('./scripts/build-dist.cjs') as { ensureBuild(root: string, o: { log: (m: string) => void }): BuildResult };
  return build(root, { log });
}

/**
 * Problems a notebook's first cell would meet: dist/ not building, tslab's compiler (TypeScript
 * 5.0) rejecting its declarations, or Node failing to load it from tslab's CommonJS `require`
 * (ES modules with top-level await, or Node older than 20.19).
 */
export function checkNotebookImport(root: string, log: (m: string) => void = () => {}): CompatDiagnostic[] {
  const b = ensureBuild(root, log);
  if (!b.ok) return [{ file: 'src', line: 0, column: 0, message: `building dist/ failed:\n${b.errors}` }];
  const diags = tslabConvert(root, NOTEBOOK_IMPORT);
  if (diags.length) return diags;
  const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', path.join(root, NOTEBOOK_IMPORT)], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    const why = (r.stderr || String(r.error ?? `exit status ${r.status}`)).trim().split('\n').filter((l) => /Error|error/.test(l)).slice(0, 3).join('\n');
    return [{ file: NOTEBOOK_IMPORT, line: 0, column: 0, message: `require() from a tslab cell fails (Node ${process.version}; Node >= 20.19 loads ES modules this way):\n${why}` }];
  }
  return [];
}
