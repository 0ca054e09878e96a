// A user's own TypeScript module named by a config, runbook or CLI flag: `./models/mine.ts#detector`
// (a file, `#` and an export name; without `#` the default export). Paths are relative to the
// working directory, like `out` and `initFrom`.
// - Under ES modules (the CLI runs under tsx, tests under vitest) the file is import()ed: it shares
//   drivetrain's modules with the caller.
// - In a notebook, tslab runs src/ as CommonJS compiled by its TypeScript 5.0, and its require()
//   cannot load a .ts file it did not compile for the cell. The file is then transpiled to
//   CommonJS with esbuild (tsx's own transpiler; TypeScript's transpileModule took ~150 ms a file)
//   and its imports resolved here: drivetrain files tslab already loaded are taken from tslab (one
//   Module class, one autodiff registry), other .ts files are transpiled the same way, packages
//   come from node's require.
import fs from 'node:fs';
import ModuleCtor, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../paths.js';
import { tsxApiUrl } from '../worker/spawn.js';

export interface ModuleRef {
  /** Absolute path of the file. */
  file: string;
  /** Export name ('default' without `#`). */
  exportName: string;
  /** The reference as written. */
  text: string;
}

const SOURCE_RE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Whether `ref` names a module file (`x.ts#name`, `./x.ts`) rather than a registry name. */
export function isModuleRef(ref: string): boolean {
  const file = ref.split('#')[0];
  return ref.includes('#') || SOURCE_RE.test(file) || file.startsWith('./') || file.startsWith('../') || path.isAbsolute(file);
}

/** Parses `file#export` relative to `cwd` (default the working directory). */
export function parseModuleRef(ref: string, cwd = process.cwd()): ModuleRef {
  const hash = ref.lastIndexOf('#');
  const file = hash >= 0 ? ref.slice(0, hash) : ref;
  const exportName = hash >= 0 ? ref.slice(hash + 1) : 'default';
  if (!file) throw new Error(`"${ref}": name the file before the #, e.g. ./models/mine.ts#detector`);
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(exportName)) throw new Error(`"${ref}": "${exportName}" after the # is not an export name`);
  return { file: path.resolve(cwd, file), exportName, text: ref };
}

/** The module's exports. Throws naming the resolved path when the file is missing. */
export async function importUserModule(file: string, what = 'module'): Promise<Record<string, unknown>> {
  if (!fs.existsSync(file)) {
    throw new Error(`${what}: ${file} does not exist (module paths are relative to the working directory, ${process.cwd()})`);
  }
  try {
    if (typeof require === 'function' && typeof module === 'object') return loadCommonJs(file);
    return await importFile(file);
  } catch (e) {
    const err = e as Error;
    if (err.message?.startsWith(`${what}:`)) throw err;
    err.message = `${what}: loading ${file} failed: ${err.message}`;
    throw err;
  }
}

/** The export `ref` names (`file#name`); throws listing the module's exports when it is missing. */
export async function loadUserExport(ref: string, what: string): Promise<unknown> {
  const r = parseModuleRef(ref);
  const mod = await importUserModule(r.file, what);
  const value = r.exportName === 'default' ? (mod.default ?? (mod as { 'module.exports'?: unknown })['module.exports']) : mod[r.exportName];
  if (value === undefined) {
    const names = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new Error(`${what}: ${r.file} has no export "${r.exportName}" (it exports ${names.length ? names.join(', ') : 'nothing'}); write "${path.relative(process.cwd(), r.file) || r.file}#<export>"`);
  }
  return value;
}

let tsLoader: Promise<void> | null = null;

/** import() of a user file; a .ts file under plain Node gets the TypeScript loader first. */
async function importFile(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
  }
  await typeScriptLoader();
  // a new URL: Node keeps the failed import of the first one
  return (await import(`${url}?ts`)) as Record<string, unknown>;
}

/**
 * Plain Node (the built dist/ a notebook kernel imports) cannot import .ts (under tsx or vitest
 * the first import() works): register tsx's loader once, then dist-hooks.js, which sends the user
 * file's imports of src/ to dist/.
 */
function typeScriptLoader(): Promise<void> {
  tsLoader ??= (async () => {
    const root = packageRoot();
    const { register } = (await import(tsxApiUrl(root))) as { register(): unknown };
    register();
    const dir = (d: string) => pathToFileURL(path.join(root, d)).href + '/';
    ModuleCtor.register(pathToFileURL(path.join(root, 'dist', 'train', 'dist-hooks.js')), { data: { src: dir('src'), dist: dir('dist') } });
  })();
  return tsLoader;
}

// ---- CommonJS path (tslab notebooks) ----

type Exports = Record<string, unknown>;
const loaded = new Map<string, { exports: unknown }>();

interface Transpiler {
  transformSync(src: string, o: { loader: 'ts'; format: 'cjs'; target: string; sourcemap: 'inline'; sourcefile: string }): { code: string };
}
let transpiler: Transpiler | undefined;

/** esbuild, from tsx (a dependency) so it is the same copy tsx runs the CLI with. */
function esbuild(): Transpiler {
  if (!transpiler) {
    const fromTsx = createRequire(createRequire(path.join(packageRoot(), 'package.json')).resolve('tsx/package.json'));
    transpiler = fromTsx('esbuild') as Transpiler;
  }
  return transpiler;
}

/** `spec` (relative, from `fromDir`) as an existing source file, TypeScript resolution style (`x.js` may be `x.ts`). */
function resolveSource(fromDir: string, spec: string): string | null {
  const base = path.resolve(fromDir, spec);
  const stem = base.replace(/\.(js|mjs|cjs)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

/** The module of drivetrain file `file` as tslab loaded it for the notebook, if it did. */
function fromTslab(file: string): Exports | null {
  if (typeof require !== 'function') return null; // not under tslab (tests call the CommonJS path from ES modules)
  const src = path.join(packageRoot(), 'src');
  if (path.relative(src, file).startsWith('..')) return null;
  const own = path.dirname(path.join(src, 'train', 'user-module.ts'));
  let rel = path.relative(own, file.replace(/\.(ts|mts|cts)$/, '.js')).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  try {
    return require(rel) as Exports; // tslab's require: serves the files it compiled for the cell
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw e;
  }
}

function requireFrom(parentFile: string): (spec: string) => unknown {
  const nodeRequire = createRequire(parentFile);
  return (spec: string) => {
    if (!spec.startsWith('.') && !path.isAbsolute(spec)) return nodeRequire(spec);
    const file = resolveSource(path.dirname(parentFile), spec);
    if (!file) throw Object.assign(new Error(`Cannot find module '${spec}' imported by ${parentFile}`), { code: 'MODULE_NOT_FOUND' });
    if (!/\.(ts|mts|cts)$/.test(file)) return nodeRequire(file);
    return fromTslab(file) ?? loadCommonJs(file);
  };
}

/** The CommonJS path on its own (what notebooks use), for tests. */
export function loadCommonJsForTests(file: string): Exports {
  return loadCommonJs(file);
}

function loadCommonJs(file: string): Exports {
  const hit = loaded.get(file);
  if (hit) return hit.exports as Exports;
  if (!/\.(ts|mts|cts)$/.test(file)) return createRequire(file)(file) as Exports;
  const js = esbuild().transformSync(fs.readFileSync(file, 'utf8'), { loader: 'ts', format: 'cjs', target: 'es2022', sourcemap: 'inline', sourcefile: file }).code;
  type Compilable = { exports: unknown; filename: string; paths: string[]; require: unknown; _compile(code: string, filename: string): void };
  const Ctor = ModuleCtor as unknown as { new (id: string): Compilable; _nodeModulePaths(dir: string): string[] };
  const m = new Ctor(file);
  m.filename = file;
  m.paths = Ctor._nodeModulePaths(path.dirname(file));
  m.require = requireFrom(file);
  loaded.set(file, m); // before running it: import cycles get the partial exports, as in node
  try {
    m._compile(js, file);
  } catch (e) {
    loaded.delete(file);
    throw e;
  }
  return m.exports as Exports;
}
