/**
 * JSON text of fixed-shape messages with their numbers left to another thread (decisions.jsonl's writer,
 * decision-lines.ts): each number is one \x01 byte in the text — a byte JSON text never holds, since
 * JSON.stringify escapes control characters inside strings — and its value is appended to `late`, in text
 * order; the writer thread puts `JSON.stringify(number)` in its place. A message is written field by field
 * after its Shape only when its own keys are exactly the shape's, in order, with the value types the shape
 * expects; anything else goes through JSON.stringify here, so the text is always JSON.stringify's.
 */

/**
 * How a field is written: `num` a number (left to the other thread) or null; `nums` an array of numbers;
 * `word` a short string that repeats bar after bar (memoised JSON text) or null; `text` any string or null;
 * `json` any value JSON.stringify writes as a property; `{ object }` a nested message or null; `{ list }` an
 * array of nested messages; `{ oneOf }` the first of several shapes the value has.
 */
export type FieldKind =
  | 'num'
  | 'nums'
  | 'word'
  | 'text'
  | 'json'
  | { readonly object: Shape }
  | { readonly list: Shape }
  | { readonly oneOf: readonly Shape[] };

export interface Shape {
  readonly keys: readonly string[];
  readonly kinds: readonly FieldKind[];
  /** the JSON text before each value: `{"key":` for the first, `,"key":` for the others */
  readonly prefixes: readonly string[];
}

export function shape(fields: readonly (readonly [string, FieldKind])[]): Shape {
  return {
    keys: fields.map(([k]) => k),
    kinds: fields.map(([, t]) => t),
    prefixes: fields.map(([k], i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`),
  };
}

/** JSON text of a value that is written as a property value (not left out), else null */
function jsonOf(v: unknown): string | null {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol' ? null : (JSON.stringify(v) ?? null);
}

/** true when `o`'s own enumerable keys are exactly `keys`, in that order (JSON.stringify's order) */
function sameKeys(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k) || k !== keys[i++]) return false;
  }
  return i === keys.length && Object.getPrototypeOf(o) === Object.prototype;
}

export class DeferredJson {
  /** the numbers of the text written since the last `reset`, in text order */
  readonly late: number[] = [];
  /** messages written by JSON.stringify because they did not have their shape (a diagnostic for tests) */
  fallbacks = 0;
  readonly #quoted = new Map<string, string>();

  reset(): void {
    this.late.length = 0;
  }

  /** JSON text of a string that repeats bar after bar: memoised */
  quote(s: string): string {
    let t = this.#quoted.get(s);
    if (t === undefined) {
      t = JSON.stringify(s);
      if (this.#quoted.size < 4096) this.#quoted.set(s, t);
    }
    return t;
  }

  /** `o` (a message of shape `sh`, or null) as JSON text, its numbers deferred when it has the shape */
  write(o: object | null, sh: Shape): string {
    if (o === null) return 'null';
    const from = this.late.length;
    const text = this.#fields(o, sh);
    if (text !== null) return text;
    this.late.length = from;
    this.fallbacks++;
    return JSON.stringify(o);
  }

  /** `o` written field by field after `sh`, or null when it does not have that shape */
  #fields(o: object, sh: Shape): string | null {
    if (!sameKeys(o, sh.keys)) return null;
    const rec = o as Record<string, unknown>;
    let s = '';
    for (let i = 0; i < sh.keys.length; i++) {
      const t = this.#value(rec[sh.keys[i]!], sh.kinds[i]!);
      if (t === null) return null;
      s += sh.prefixes[i]! + t;
    }
    return `${s}}`;
  }

  #value(v: unknown, kind: FieldKind): string | null {
    switch (kind) {
      case 'num':
        if (typeof v === 'number') {
          this.late.push(v);
          return '\x01';
        }
        return v === null ? 'null' : null;
      case 'nums': {
        if (!Array.isArray(v)) return null;
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if (typeof x !== 'number') return null;
          this.late.push(x);
          s += i === 0 ? '\x01' : ',\x01';
        }
        return `${s}]`;
      }
      case 'word':
        return typeof v === 'string' ? this.quote(v) : v === null ? 'null' : null;
      case 'text':
        return typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : null;
      case 'json':
        return jsonOf(v);
    }
    if ('object' in kind) return v === null ? 'null' : typeof v === 'object' ? this.#fields(v, kind.object) : null;
    if ('list' in kind) {
      if (!Array.isArray(v)) return null;
      let s = '[';
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        const t = x !== null && typeof x === 'object' ? this.#fields(x, kind.list) : null;
        if (t === null) return null;
        s += i === 0 ? t : `,${t}`;
      }
      return `${s}]`;
    }
    if (v === null || typeof v !== 'object') return null;
    const from = this.late.length;
    for (const sh of kind.oneOf) {
      const t = this.#fields(v, sh);
      if (t !== null) return t;
      this.late.length = from;
    }
    return null;
  }
}
