// The top-level entries of a pickle that is a dict (torch.save({'epoch': 3, 'model': …})), with
// their ints and strings; everything else (tensors, nested objects) stays opaque. A small stack
// machine over the opcodes torch.save and Python's pickle emit (protocols 2–5); nothing is
// executed or imported. Hand-written because no npm package reads pickles without evaluating
// them, and all that is needed here is a few numbers from the top level. Returns null for
// anything it does not understand.
type Value = number | string | boolean | null | PickleDict | Opaque | Global;
class PickleDict { readonly items = new Map<string, Value>(); }
class Opaque {}
class Global { constructor(readonly name: string) {} }
const MARK = Symbol('mark');
type Slot = Value | typeof MARK;

const OPAQUE = new Opaque();

export function scanPickleTopLevel(b: Buffer): Map<string, Value> | null {
  try {
    const top = run(b);
    return top instanceof PickleDict ? top.items : null;
  } catch {
    return null;
  }
}

function run(b: Buffer): Value | undefined {
  const stack: Slot[] = [];
  const memo = new Map<number, Value>();
  let p = 0;
  const u8 = () => b[p++];
  const take = (n: number) => { if (p + n > b.length) throw new Error('truncated'); const s = b.subarray(p, p + n); p += n; return s; };
  const pop = (): Value => { const v = stack.pop(); if (v === undefined || v === MARK) throw new Error('stack'); return v; };
  const popMark = (): Value[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) throw new Error('no mark');
    const items = stack.splice(k) as Value[];
    items.shift();
    return items;
  };
  const top = (): Value => { const v = stack[stack.length - 1]; if (v === undefined || v === MARK) throw new Error('stack'); return v; };
  const setItems = (d: Value, kv: Value[]) => {
    if (!(d instanceof PickleDict)) return;
    for (let i = 0; i + 1 < kv.length; i += 2) if (typeof kv[i] === 'string') d.items.set(kv[i] as string, kv[i + 1]);
  };
  const line = () => { const e = b.indexOf(0x0a, p); if (e < 0) throw new Error('truncated'); const s = b.toString('latin1', p, e); p = e + 1; return s; };
  while (p < b.length) {
    const op = String.fromCharCode(u8());
    switch (op) {
      case '\x80': p += 1; break; // PROTO
      case '\x95': p += 8; break; // FRAME
      case '}': stack.push(new PickleDict()); break; // EMPTY_DICT
      case ']': case ')': stack.push(OPAQUE); break; // EMPTY_LIST / EMPTY_TUPLE
      case '(': stack.push(MARK); break;
      case 'd': popMark(); stack.push(new PickleDict()); break; // DICT (from mark items; contents not needed)
      case 'l': case 't': popMark(); stack.push(OPAQUE); break; // LIST / TUPLE
      case '\x85': pop(); stack.push(OPAQUE); break; // TUPLE1
      case '\x86': pop(); pop(); stack.push(OPAQUE); break; // TUPLE2
      case '\x87': pop(); pop(); pop(); stack.push(OPAQUE); break; // TUPLE3
      case 'a': pop(); break; // APPEND
      case 'e': popMark(); break; // APPENDS
      case 's': { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 'u': { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 'q': memo.set(u8(), top()); break; // BINPUT
      case 'r': memo.set(take(4).readUInt32LE(0), top()); break; // LONG_BINPUT
      case '\x94': memo.set(memo.size, top()); break; // MEMOIZE
      case 'h': stack.push(memo.get(u8()) ?? OPAQUE); break; // BINGET
      case 'j': stack.push(memo.get(take(4).readUInt32LE(0)) ?? OPAQUE); break; // LONG_BINGET
      case 'X': stack.push(take(take(4).readUInt32LE(0)).toString('utf8')); break; // BINUNICODE
      case '\x8c': stack.push(take(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case '\x8d': stack.push(take(Number(take(8).readBigUInt64LE(0))).toString('utf8')); break; // BINUNICODE8
      case 'U': stack.push(take(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 'T': stack.push(take(take(4).readInt32LE(0)).toString('latin1')); break; // BINSTRING
      case 'C': take(u8()); stack.push(OPAQUE); break; // SHORT_BINBYTES
      case 'B': take(take(4).readUInt32LE(0)); stack.push(OPAQUE); break; // BINBYTES
      case 'K': stack.push(u8()); break; // BININT1
      case 'M': stack.push(take(2).readUInt16LE(0)); break; // BININT2
      case 'J': stack.push(take(4).readInt32LE(0)); break; // BININT
      case '\x8a': { const n = u8(); const x = take(n); stack.push(n <= 6 && n > 0 ? x.readIntLE(0, n) : OPAQUE); break; } // LONG1
      case 'G': stack.push(take(8).readDoubleBE(0)); break; // BINFLOAT
      case 'N': stack.push(null); break;
      case '\x88': stack.push(true); break;
      case '\x89': stack.push(false); break;
      case 'c': stack.push(new Global(`${line()}.${line()}`)); break; // GLOBAL
      case '\x93': { const name = pop(), mod = pop(); stack.push(new Global(`${String(mod)}.${String(name)}`)); break; } // STACK_GLOBAL
      case 'R': { pop(); const f = pop(); stack.push(f instanceof Global && f.name === 'collections.OrderedDict' ? new PickleDict() : OPAQUE); break; } // REDUCE
      case '\x81': pop(); pop(); stack.push(OPAQUE); break; // NEWOBJ
      case 'b': pop(); break; // BUILD
      case 'Q': pop(); stack.push(OPAQUE); break; // BINPERSID (torch storages)
      case '.': return stack.length === 1 ? pop() : undefined; // STOP
      default: throw new Error(`opcode ${op.charCodeAt(0)}`);
    }
  }
  return undefined;
}
