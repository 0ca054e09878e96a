// Rich output from notebook cells: MIME bundles (HTML/SVG with a text/plain twin) through tslab
// when running inside its kernel, plain text on stdout everywhere else.
import { randomBytes } from 'node:crypto';

export type MimeBundle = Record<string, string>;

interface TslabPublic {
  display: { html(s: string): void; svg(s: string): void; text(s: string): void; raw(type: string, s: string): void };
  newDisplay(): TslabPublic['display'];
}
type WriteDisplayData = (msg: { data: MimeBundle; metadata: object; transient: { display_id?: string } }, update: boolean) => void;

interface TslabHandle {
  public: TslabPublic;
  /** tslab's internal writer: sends whole bundles (several MIME types at once); may be absent. */
  write: WriteDisplayData | null;
}

let cached: TslabHandle | null | undefined;

/**
 * tslab sets `globalThis.__tslab__ = { exports, require }` in its kernel; its `require` maps
 * 'tslab' to the kernel's own module instance (a plain require would load a second copy that
 * is not connected to the kernel).
 */
function tslab(): TslabHandle | null {
  if (cached !== undefined) return cached;
  const g = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  cached = null;
  if (g && typeof g.require === 'function') {
    try {
      const pub = g.require('tslab') as TslabPublic;
      let write: WriteDisplayData | null = null;
      try {
        // Same file the kernel loaded (the launcher runs tslab from this project's node_modules).
        const internal = g.require('tslab/dist/jupyter') as { lastWriteDisplayData?: WriteDisplayData };
        if (typeof internal.lastWriteDisplayData === 'function' || internal.lastWriteDisplayData === null) {
          write = (msg, update) => internal.lastWriteDisplayData!(msg, update);
        }
      } catch {
        /* older tslab layout: fall back to the public single-MIME API */
      }
      cached = { public: pub, write };
    } catch {
      cached = null;
    }
  }
  return cached;
}

/** True inside a tslab (Jupyter) kernel. */
export function inNotebook(): boolean {
  return tslab() !== null;
}

/** For tests: forget the detected kernel (or pretend one with `fake`). */
export function resetDisplayForTests(fake?: TslabHandle | null): void {
  cached = fake;
}

function preferredMime(bundle: MimeBundle): string {
  for (const t of ['text/html', 'image/svg+xml', 'text/markdown', 'text/plain']) if (t in bundle) return t;
  return Object.keys(bundle)[0]!;
}

function send(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
  const t = tslab();
  if (!t) {
    const text = bundle['text/plain'];
    if (text !== undefined) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return;
  }
  if (t.write) {
    t.write({ data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
    return;
  }
  const mime = preferredMime(bundle);
  // The public API sends one MIME type; a display created by newDisplay() updates in place.
  const target = displayId ? liveTargets.get(displayId) ?? t.public.newDisplay() : t.public.display;
  if (displayId) liveTargets.set(displayId, target);
  target.raw(mime, bundle[mime]!);
}
const liveTargets = new Map<string, TslabPublic['display']>();

/** Shows a bundle once: `{ 'text/html': …, 'text/plain': … }`. Outside notebooks prints text/plain. */
export function show(bundle: MimeBundle): void {
  send(bundle, undefined, false);
}

export function showHtml(html: string, text: string): void {
  show({ 'text/html': html, 'text/plain': text });
}

export function showSvg(svg: string, text: string): void {
  show({ 'image/svg+xml': svg, 'text/plain': text });
}

/**
 * A display that can be replaced in place (Jupyter `update_display_data`). Outside notebooks
 * each update prints its text/plain line, so callers should update sparingly there.
 */
export class LiveDisplay {
  private readonly id = randomBytes(8).toString('hex');
  private shown = false;
  private lastText = '';

  update(bundle: MimeBundle): void {
    if (!inNotebook()) {
      const text = bundle['text/plain'] ?? '';
      if (text !== this.lastText) send(bundle, undefined, false);
      this.lastText = text;
      return;
    }
    send(bundle, this.id, this.shown);
    this.shown = true;
  }
}
