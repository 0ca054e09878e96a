import { describe, expect, it } from 'vitest';
import { displayPrinter } from './run-notebook.js';

describe('the terminal view of displays', () => {
  it('prints a live block once, then only its new or changed lines', () => {
    const print = displayPrinter();
    const block = (lines: string[]) => ({ 'text/plain': lines.join('\n'), 'text/html': '<div>…</div>' });
    expect(print(block(['[s] Epoch 1/2 |   | 0/4', '  backup: off']), false, 'a')).toBe('[s] Epoch 1/2 |   | 0/4\n  backup: off');
    expect(print(block(['[s] Epoch 1/2 |█  | 2/4', '  backup: off']), true, 'a')).toBe('[s] Epoch 1/2 |█  | 2/4');
    expect(print(block(['Epoch 1/2: train_loss=1', '[s] Epoch 2/2 |   | 0/4', '  backup: off']), true, 'a')).toBe('Epoch 1/2: train_loss=1\n[s] Epoch 2/2 |   | 0/4');
    expect(print(block(['Epoch 1/2: train_loss=1', '[s] Epoch 2/2 |   | 0/4', '  backup: off']), true, 'a')).toBe('');
    // Displays without an id (tables, plots) are printed whole, every time.
    expect(print({ 'text/plain': 'a table' }, false)).toBe('a table');
    expect(print({ 'text/plain': 'a table' }, false)).toBe('a table');
  });
});
