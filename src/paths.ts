// Where the drivetrain package lives on disk, without `import.meta` (tslab runs src as
// CommonJS, where `import.meta` breaks the import). The CLI and the notebook kernel set
// DRIVETRAIN_ROOT; otherwise the folders above the working directory are searched.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

function isPackageRoot(dir: string): boolean {
  const pkg = path.join(dir, 'package.json');
  if (!existsSync(pkg)) return false;
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'drivetrain';
  } catch {
    return false;
  }
}

export function packageRoot(): string {
  const env = process.env.DRIVETRAIN_ROOT;
  if (env && isPackageRoot(env)) return path.resolve(env);
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (isPackageRoot(dir)) return dir;
    const nm = path.join(dir, 'node_modules', 'drivetrain');
    if (isPackageRoot(nm)) return nm;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error('drivetrain: cannot find the drivetrain package folder; run from inside it or set DRIVETRAIN_ROOT');
}

/** packageRoot(), or the working directory when the package folder cannot be found. */
export function packageRootOrCwd(): string {
  try {
    return packageRoot();
  } catch {
    return process.cwd();
  }
}
