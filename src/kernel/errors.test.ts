import { describe, expect, it } from 'vitest';
import { compileError, errorText, interruptError, isDiagnostic, isInterruptError, thrownError } from './errors.js';

describe('Jupyter error contents', () => {
  it('a thrown Error keeps name, message, cause and the frames of user code, not of Node or tslab', () => {
    class DrivetrainError extends Error {
      override name = 'DrivetrainError';
    }
    const cause = new RangeError('inner');
    cause.stack = 'RangeError: inner\n    at readIndex (/p/dist/backup/restore.js:5:3)';
    const e = new DrivetrainError('no backup location yet: run the mount cell first', { cause });
    e.stack = [
      'DrivetrainError: no backup location yet: run the mount cell first',
      '    at currentStore (/p/dist/notebook/cells.js:80:11)',
      '    at evalmachine.<anonymous>:3:9',
      '    at Script.runInThisContext (node:vm:137:12)',
      '    at execute (/p/node_modules/tslab/dist/executor.js:170:38)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n');
    const c = thrownError(e);
    expect(c.ename).toBe('DrivetrainError');
    expect(c.evalue).toBe('no backup location yet: run the mount cell first');
    expect(errorText(c).split('\n')).toEqual([
      'DrivetrainError: no backup location yet: run the mount cell first',
      '    at currentStore (/p/dist/notebook/cells.js:80:11)',
      '    at evalmachine.<anonymous>:3:9',
      'Caused by: RangeError: inner',
      '    at readIndex (/p/dist/backup/restore.js:5:3)',
    ]);
    expect(c.traceback[0]).toContain('\x1b[0;31m'); // red heading in Notebook/JupyterLab
  });

  it('plain Errors, subclasses without a name and non-Error values get names', () => {
    expect(thrownError(new Error('x')).ename).toBe('Error');
    class ConfigProblem extends Error {}
    expect(thrownError(new ConfigProblem('y')).ename).toBe('ConfigProblem');
    expect(thrownError('just a string')).toMatchObject({ ename: 'Uncaught', evalue: 'just a string' });
    expect(thrownError({ code: 3 })).toMatchObject({ ename: 'Uncaught', evalue: '{ code: 3 }' });
  });

  it("TypeScript diagnostics keep tslab's `[file ]line:col - message` lines", () => {
    const diags = [
      ['%s%d:%d - %s', '', 2, 7, "Cannot find name 'sumary'."],
      ['%s%d:%d - %s', 'src/x.ts ', 10, 1, 'Type error.'],
    ];
    expect(diags.every(isDiagnostic)).toBe(true);
    expect(isDiagnostic([new Error('x')])).toBe(false);
    const c = compileError(diags, '5.0.4');
    expect(c.ename).toBe('TSError');
    expect(c.evalue).toBe("2 errors; the first: 2:7 - Cannot find name 'sumary'.");
    expect(errorText(c).split('\n')).toEqual(['TSError: the cell does not compile (TypeScript 5.0.4):', "2:7 - Cannot find name 'sumary'.", 'src/x.ts 10:1 - Type error.']);
  });

  it('interrupts are KeyboardInterrupt, as Jupyter clients know them', () => {
    expect(isInterruptError(new Error('Interrupted asynchronously'))).toBe(true);
    expect(isInterruptError(Object.assign(new Error('Script execution was interrupted by `SIGINT`'), { code: 'ERR_SCRIPT_EXECUTION_INTERRUPTED' }))).toBe(true);
    expect(isInterruptError(new Error('other'))).toBe(false);
    for (const k of ['stopped', 'cut', 'abandoned'] as const) expect(interruptError(k).ename).toBe('KeyboardInterrupt');
    expect(interruptError('abandoned').evalue).toMatch(/may still be running/);
  });
});
