import { describe, expect, it } from 'vitest';
import { clearOutputs, declaredKinds, declaredNames, injectParameters, OutputCollector, parseParam, sourceText, toLines, type Notebook } from './notebook-file.js';

const nb = (): Notebook => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    { cell_type: 'markdown', metadata: {}, source: '# t' },
    { cell_type: 'code', metadata: { tags: ['parameters'] }, source: ['let epochs = 3;\n', "let run: string = 'a';\n"], outputs: [{ output_type: 'stream', name: 'stdout', text: 'x' }], execution_count: 4 },
    { cell_type: 'code', metadata: {}, source: 'train();', outputs: [], execution_count: null },
  ],
});

describe('parseParam', () => {
  it('parses JSON values and falls back to strings', () => {
    expect(parseParam('epochs=5')).toEqual(['epochs', 5]);
    expect(parseParam('flag=true')).toEqual(['flag', true]);
    expect(parseParam('lrs=[0.1,0.01]')).toEqual(['lrs', [0.1, 0.01]]);
    expect(parseParam('drive=drive:runs/a')).toEqual(['drive', 'drive:runs/a']);
    expect(parseParam('s="quoted"')).toEqual(['s', 'quoted']);
    expect(parseParam('eq=a=b')).toEqual(['eq', 'a=b']);
  });
  it('rejects malformed input with a hint', () => {
    expect(() => parseParam('epochs')).toThrow(/key=value/);
    expect(() => parseParam('1x=2')).toThrow(/identifier/);
  });
});

describe('injectParameters', () => {
  it('inserts a tagged cell after the parameters cell with assignments in a block', () => {
    const { notebook: out, ignored } = injectParameters(nb(), { epochs: 7, run: 'b' });
    expect(ignored).toEqual([]);
    expect(out.cells).toHaveLength(4);
    const cell = out.cells[2]!;
    expect(cell.metadata.tags).toEqual(['injected-parameters']);
    const code = sourceText(cell.source);
    expect(code).toContain('epochs = 7;');
    expect(code).toContain('run = "b";');
    expect(code.trim().endsWith('}')).toBe(true);
    expect(sourceText(out.cells[3]!.source)).toBe('train();');
  });
  it('leaves out undeclared names (listing them), or rejects them when strict', () => {
    const r = injectParameters(nb(), { epoch: 1, epochs: 2 });
    expect(r.ignored).toEqual(['epoch']);
    expect(sourceText(r.notebook.cells[2]!.source)).not.toContain('epoch =');
    expect(injectParameters(nb(), { nope: 1 }).notebook.cells).toHaveLength(3);
    expect(() => injectParameters(nb(), { epoch: 1 }, true)).toThrow(/unknown parameter\(s\) epoch; the parameters cell declares: epochs, run/);
  });
  it('fits values to the declared kind: strings stay strings, numbers must be numbers', () => {
    const n = nb();
    n.cells[1]!.source = "let EPOCHS = 0;\nlet RUN = '';\nlet FLAG = false;\nlet X: string = 'a';\nlet ANY = null;\n";
    expect(declaredKinds(sourceText(n.cells[1]!.source))).toEqual({ EPOCHS: 'number', RUN: 'string', FLAG: 'boolean', X: 'string', ANY: 'other' });
    const code = sourceText(injectParameters(n, { RUN: 123, X: true, EPOCHS: 3, ANY: [1] }).notebook.cells[2]!.source);
    expect(code).toContain('RUN = "123";');
    expect(code).toContain('X = "true";');
    expect(code).toContain('EPOCHS = 3;');
    expect(code).toContain('ANY = [1];');
    expect(() => injectParameters(n, { EPOCHS: 'many' })).toThrow(/parameter EPOCHS must be a number .* got "many"/);
    expect(() => injectParameters(n, { FLAG: 1 })).toThrow(/FLAG must be a boolean/);
  });
  it('explains a missing parameters cell', () => {
    const n = nb();
    n.cells[1]!.metadata = {};
    expect(() => injectParameters(n, { epochs: 1 })).toThrow(/no cell tagged "parameters"/);
    expect(injectParameters(n, {}).notebook).toBe(n);
  });
});

describe('helpers', () => {
  it('declaredNames finds top-level declarations only', () => {
    expect(declaredNames('const a = 1;\nlet b: number = 2;\n  var c = 3\nfoo(d);\nexport const e = 4;')).toEqual(['a', 'b', 'c', 'e']);
  });
  it('toLines keeps newlines', () => {
    expect(toLines('a\nb\n')).toEqual(['a\n', 'b\n']);
    expect(toLines('a\nb')).toEqual(['a\n', 'b']);
    expect(toLines('')).toEqual([]);
  });
  it('clearOutputs clears code cells only', () => {
    const c = clearOutputs(nb());
    expect(c.cells[1]!.outputs).toEqual([]);
    expect(c.cells[1]!.execution_count).toBeNull();
    expect(c.cells[0]).toEqual(nb().cells[0]);
  });
});

describe('OutputCollector', () => {
  it('merges consecutive streams and updates displays by id', () => {
    const c = new OutputCollector();
    c.stream('stdout', 'a\n');
    c.stream('stdout', 'b\n');
    c.stream('stderr', 'e\n');
    c.display({ 'text/html': '<p>1</p>' }, {}, 'p1');
    c.stream('stdout', 'c');
    expect(c.update({ 'text/html': '<p>2</p>' }, {}, 'p1')).toBe(true);
    expect(c.update({ 'text/html': 'x' }, {}, 'other')).toBe(false);
    expect(c.finish()).toEqual([
      { output_type: 'stream', name: 'stdout', text: ['a\n', 'b\n'] },
      { output_type: 'stream', name: 'stderr', text: ['e\n'] },
      { output_type: 'display_data', data: { 'text/html': '<p>2</p>' }, metadata: {} },
      { output_type: 'stream', name: 'stdout', text: ['c'] },
    ]);
  });
});
