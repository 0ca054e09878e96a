import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lookupVjp, registerGradient, registeredOps } from './registry.js';

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
  it('every rules/<Op>.ts is listed in rules/index.ts and registered', () => {
    const ruleFiles = readdirSync(new URL('./rules/', import.meta.url))
      .filter((f) => /^[A-Z]\w*\.ts$/.test(f) && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -3));
    expect(ruleFiles.length).toBeGreaterThan(40);
    expect(ruleFiles.filter((op) => typeof lookupVjp(op) !== 'function')).toEqual([]);
  });
  it('comparison and index ops are marked non-differentiable; unknown ops are not', () => {
    expect(lookupVjp('Greater')).toBe('none');
    expect(lookupVjp('ArgMax')).toBe('none');
    expect(lookupVjp('NotAnOnnxOp')).toBeUndefined();
  });
  it('refuses a second rule for an op that has one', () => {
    expect(() => registerGradient({ op: 'Relu', vjp: () => [undefined] })).toThrow(/VJP rule for Relu registered twice/);
  });
});
