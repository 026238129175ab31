/**
 * Canonical JSON: object keys sorted, no whitespace, numbers in JS shortest form.
 * Used wherever bytes must be stable: approval signatures, config hashes, reproducible reports.
 * Rejects values that have no JSON form (NaN, Infinity, undefined in arrays, functions).
 */
export function canonicalJson(value: unknown): string {
  return enc(value, '$');
}

function enc(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      return JSON.stringify(v);
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x, i) => enc(x, `${path}[${i}]`)).join(',')}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${enc(o[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof v} at ${path}`);
  }
}
