// Selecting parameters by name: a glob (`*` any characters including dots, `?` one character)
// or a plain prefix (`backbone` matches `backbone` and `backbone.…`).

export function matchName(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return name === pattern || name.startsWith(`${pattern}.`);
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

export function matchAny(patterns: string | readonly string[], name: string): boolean {
  return (typeof patterns === 'string' ? [patterns] : patterns).some((p) => matchName(p, name));
}

/** Names matched by `patterns`; throws when a pattern matches nothing (a typo would silently train everything). */
export function selectNames(patterns: string | readonly string[], names: readonly string[], what = 'pattern'): string[] {
  const list = typeof patterns === 'string' ? [patterns] : patterns;
  for (const p of list) {
    if (!names.some((n) => matchName(p, n))) throw new Error(`${what} "${p}" matches no parameter (parameters: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''})`);
  }
  return names.filter((n) => matchAny(list, n));
}
