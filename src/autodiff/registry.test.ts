import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lookupVjp, registeredOps } from './registry.js';
import './rules/index.js';

describe('VJP registry', () => {
  it('every registered rule has rules/<Op>.test.ts with a gradcheck', () => {
    const { rules } = registeredOps();
    expect(rules.length).toBeGreaterThan(40);
    const missing = rules.filter((op) => {
      const file = new URL(`./rules/${op}.test.ts`, import.meta.url);
      return !existsSync(file) || !readFileSync(file, 'utf8').includes('gradcheck(');
    });
    expect(missing).toEqual([]);
  });
  it('comparison and index ops are marked non-differentiable; unknown ops are not', () => {
    expect(lookupVjp('Greater')).toBe('none');
    expect(lookupVjp('ArgMax')).toBe('none');
    expect(lookupVjp('NotAnOnnxOp')).toBeUndefined();
  });
});
