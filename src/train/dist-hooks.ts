// Module resolve hooks (node:module register) for user .ts files imported from dist/ (a notebook
// kernel runs the built package): an import that resolves into drivetrain's src/ is sent to the
// dist/ file the kernel already loaded, so a user's model shares its Module class and autodiff
// rules. tsx (registered before these hooks) resolves `x.js` to `x.ts`; these hooks run first and
// see its answer.
interface Data { src: string; dist: string }
interface Resolved { url: string; format?: string | null; shortCircuit?: boolean }
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

let dirs: Data | null = null;

export function initialize(data: Data): void {
  dirs = data;
}

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  const r = await next(specifier, context);
  if (!dirs || !r.url.startsWith(dirs.src) || !/\.(ts|js)$/.test(r.url)) return r;
  return { url: dirs.dist + r.url.slice(dirs.src.length).replace(/\.ts$/, '.js'), format: 'module', shortCircuit: true };
}
