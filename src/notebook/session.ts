// What earlier cells set up and later cells use: the mounted backup store. One per kernel
// (module state survives between the cells of a tslab kernel).
import type { Store } from '../storage/store.js';
import { UserError } from '../errors.js';

let store: Store | null = null;

export function setMountedStore(s: Store): void {
  store = s;
}

/** The store mount() chose, or null before it ran. */
export function mountedStore(): Store | null {
  return store;
}

/** The store mount() chose; a clear error when the mount cell has not run. */
export function requireMountedStore(): Store {
  if (!store) throw new UserError('no backup location yet: run the mount cell first (`await mount(DRIVE)` in 00-setup-and-restore)');
  return store;
}
