// Type-checks what a notebook imports the way tslab compiles it (its bundled TypeScript 5.0,
// module ESNext, Node10 resolution, non-strict), so src code that would break notebook cells
// is found with file:line instead of tslab's bare "30:11 - …" messages.
import { createRequire } from 'node:module';
import path from 'node:path';

export interface CompatDiagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}

// tslab's bundled TypeScript 5.0 (the project's own `typescript` is 7, which has no JS API).
type TS = typeof import('@tslab/typescript-for-tslab');

/** Diagnostics for `entries` (default `<root>/src/index.ts`) and what they import, under tslab's compiler options. */
export function checkTslabCompat(root: string, entries: string[] = [path.join(root, 'src', 'index.ts')]): { typescript: string; diagnostics: CompatDiagnostic[] } {
  const req = createRequire(path.join(root, 'node_modules', 'tslab', 'package.json'));
  const ts = req('@tslab/typescript-for-tslab') as TS;
  const options: import('@tslab/typescript-for-tslab').CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    resolveJsonModule: true,
    allowJs: true,
    skipLibCheck: true,
    rootDir: root,
    // tslab emits declarations for every imported file: TypeScript 5.0 can crash there.
    declaration: true,
    outDir: path.join(root, '.tslab-compat-out'),
    types: ['node'],
    typeRoots: [path.join(root, 'node_modules', '@types')],
  };
  const program = ts.createProgram(entries, options);
  const diagnostics: CompatDiagnostic[] = [];
  for (const d of [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(), ...program.getOptionsDiagnostics()]) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file) {
      diagnostics.push({ file: '', line: 0, column: 0, message });
      continue;
    }
    const rel = path.relative(root, d.file.fileName);
    if (rel.startsWith('..') || rel.includes('node_modules')) continue;
    const pos = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    diagnostics.push({ file: rel, line: pos.line + 1, column: pos.character + 1, message });
  }
  for (const sf of program.getSourceFiles()) {
    const rel = path.relative(root, sf.fileName);
    if (rel.startsWith('..') || rel.includes('node_modules') || sf.isDeclarationFile) continue;
    diagnostics.push(...runtimeHazards(ts, sf, rel));
    try {
      // Emit into memory only (the callback drops the files).
      const r = program.emit(sf, () => {});
      for (const d of r.diagnostics) diagnostics.push({ file: rel, line: 0, column: 0, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
    } catch (e) {
      diagnostics.push({ file: rel, line: 0, column: 0, message: `TypeScript 5.0 crashes emitting this file (tslab cannot import it): ${(e as Error).message}` });
    }
  }
  return { typescript: ts.version, diagnostics };
}

/**
 * Syntax that type-checks but fails when tslab runs the file as CommonJS: `import.meta` (Node
 * then loads the file as ESM and `exports` is undefined) and top-level `await`.
 */
function runtimeHazards(ts: TS, sf: import('@tslab/typescript-for-tslab').SourceFile, rel: string): CompatDiagnostic[] {
  const out: CompatDiagnostic[] = [];
  const at = (node: import('@tslab/typescript-for-tslab').Node, message: string) => {
    const pos = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    out.push({ file: rel, line: pos.line + 1, column: pos.character + 1, message });
  };
  const visit = (node: import('@tslab/typescript-for-tslab').Node, topLevel: boolean): void => {
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      at(node, 'import.meta breaks notebook imports (tslab runs src as CommonJS); use a static import or process.cwd()-based paths');
    }
    if (topLevel && (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier))) {
      at(node, 'top-level await breaks notebook imports (tslab runs src as CommonJS); move it into a function');
    }
    const inner = topLevel && !ts.isFunctionLike(node) && !ts.isClassLike(node);
    ts.forEachChild(node, (c) => visit(c, inner));
  };
  ts.forEachChild(sf, (c) => visit(c, true));
  return out;
}

interface TslabConverter {
  convert(prevDecl: string, src: string): { diagnostics: { fileName?: string; start: { line: number; character: number }; messageText: string }[] };
  close(): void;
}

/**
 * Compiles `import * as m from './<module>'` with tslab's own converter, as a notebook cell in
 * `root` would (its transforms differ from plain TypeScript: e.g. a module ending in an
 * expression statement such as `register(…);` can crash its declaration emit).
 * Changes the process's cwd while it runs (tslab takes its root from there).
 */
export function tslabConvert(root: string, module = 'src/index'): CompatDiagnostic[] {
  const req = createRequire(path.join(root, 'node_modules', 'tslab', 'package.json'));
  const { createConverter } = req('tslab/dist/converter') as { createConverter(): TslabConverter };
  const cwd = process.cwd();
  process.chdir(root);
  let conv: TslabConverter | null = null;
  try {
    conv = createConverter();
    const r = conv.convert('', `import * as m from './${module}';\nm;\n`);
    return r.diagnostics.map((d) => ({ file: d.fileName ?? '(cell)', line: d.start.line + 1, column: d.start.character + 1, message: d.messageText }));
  } catch (e) {
    const msg = (e as Error).message;
    return [{ file: module, line: 0, column: 0, message: `tslab's compiler crashed importing it: ${msg}. Known cause: an imported file whose last top-level statement is an expression (e.g. \`register(…);\`); end such files with a declaration or move the call into a function.` }];
  } finally {
    conv?.close();
    process.chdir(cwd);
  }
}

export function formatCompat(diags: CompatDiagnostic[]): string {
  return diags.map((d) => `${d.file}:${d.line}:${d.column} - ${d.message}`).join('\n');
}
