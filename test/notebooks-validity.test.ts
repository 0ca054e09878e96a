// The committed notebooks: valid nbformat 4 (checked by Debian's python3-nbformat), outputs
// cleared, bound to the drivetrain kernel, and parameters that `-p` can override.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredNames, injectParameters, readNotebook, sourceText } from '../src/runner/index.js';

const root = path.resolve(import.meta.dirname, '..');
const dir = path.join(root, 'notebooks');
const files = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
const py = '/usr/bin/python3';
const hasNbformat = existsSync(py) && spawnSync(py, ['-c', 'import nbformat'], { stdio: 'ignore' }).status === 0;
if (!hasNbformat) console.warn('SKIP nbformat validation: /usr/bin/python3 with nbformat is not installed (run `make setup`)');

describe('notebooks/*.ipynb', () => {
  it('are the four notebooks of the flow and the Colab setup notebook', () => {
    expect(files).toEqual(['00-setup-and-restore.ipynb', '01-stage1.ipynb', '02-stage2.ipynb', '03-stage3.ipynb', 'colab-setup.ipynb']);
  });

  it('colab-setup.ipynb is a Python notebook with outputs cleared and its settings in a parameters cell', () => {
    const nb = readNotebook(path.join(dir, 'colab-setup.ipynb'));
    expect(nb.metadata.kernelspec).toMatchObject({ name: 'python3', language: 'python' });
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    for (const c of code) expect([c.outputs, c.execution_count]).toEqual([[], null]);
    const params = code.filter((c) => c.metadata.tags?.includes('parameters'));
    expect(params).toHaveLength(1);
    expect(sourceText(params[0]!.source)).toMatch(/^SOURCE = ''$/m);
  });

  it.skipIf(!hasNbformat)('validate against the nbformat 4 schema (python3-nbformat)', () => {
    const script = [
      'import sys, nbformat',
      'for f in sys.argv[1:]:',
      '    nb = nbformat.read(f, as_version=nbformat.NO_CONVERT)',
      '    assert nb.nbformat == 4, f',
      '    nbformat.validate(nb)',
      'print("ok")',
    ].join('\n');
    const r = spawnSync(py, ['-c', script, ...files.map((f) => path.join(dir, f))], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  for (const f of files.filter((n) => n !== 'colab-setup.ipynb')) {
    it(`${f}: outputs cleared, drivetrain kernel, overridable parameters, imports that exist`, () => {
      const nb = readNotebook(path.join(dir, f));
      expect((nb.metadata.kernelspec as { name: string }).name).toBe('drivetrain');
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      for (const c of code) {
        expect(c.outputs).toEqual([]);
        expect(c.execution_count).toBeNull();
      }
      const params = code.filter((c) => c.metadata.tags?.includes('parameters'));
      expect(params).toHaveLength(1);
      const text = sourceText(params[0]!.source);
      const names = declaredNames(text);
      expect(names).toContain('DRIVE');
      expect(names).toContain('RUN');
      // `-p` injects assignments, so parameters must be `let`, not `const`.
      expect(text).not.toMatch(/^\s*const\s/m);
      const injected = injectParameters(nb, Object.fromEntries(names.map((n) => [n, 1])), true);
      expect(injected.notebook.cells).toHaveLength(nb.cells.length + 1);
      for (const c of code) {
        for (const m of sourceText(c.source).matchAll(/from '(\.\/[^']+)'/g)) {
          // Built imports (./dist/x.js) come from src/x.ts.
          const source = m[1]!.replace(/^\.\/dist\/(.*)\.js$/, './src/$1');
          expect(existsSync(path.join(root, `${source}.ts`)), `${f} imports ${m[1]}`).toBe(true);
        }
      }
      // What Colab, VS Code and Jupyter read before a kernel runs: kernel name and language.
      expect(nb.metadata.kernelspec).toMatchObject({ name: 'drivetrain', language: 'typescript' });
      expect(nb.metadata.language_info).toMatchObject({ name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' });
    });
  }
});
