// @ts-check
/**
 * The decisions.jsonl writer thread (see decision-lines.ts for the main-thread side and the batch layout).
 *
 * Turning a number into its shortest decimal text is most of the cost of a decision line (an analysis report
 * carries ~60 of them), so the replay thread does not do it: it sends each line as three pieces of finished
 * JSON text, already UTF-8 encoded, plus the analysis report's numbers in a Float64Array and its short strings
 * as ids of a string table, and this thread turns the analysis into JSON, joins the pieces and writes the file. `formatLines` is exported so tests can check, byte for byte, that a line
 * formatted here equals `JSON.stringify` of the same DecisionLine.
 *
 * Plain JavaScript on purpose: a worker thread starts without the TypeScript loader of its parent (under
 * vitest, for one), and this file needs nothing but node.
 */
import { closeSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** JSON.stringify's text for a number: non-finite numbers are null (the schema never lets one through) */
const num = (/** @type {number} */ x) => (Number.isFinite(x) ? String(x) : 'null');

/**
 * An indicator key set as this thread writes it: an object with the keys in their order (own keys are
 * listed in creation order, integer-like keys first, as in the object the replay thread had), refilled
 * for every line so `JSON.stringify` stays on its fast path.
 * @typedef {{ keys: readonly string[]; values: Record<string, number> }} KeySet
 */

/** @param {readonly string[]} keys @returns {KeySet} */
export function keySet(keys) {
  /** @type {Record<string, number>} */
  const values = {};
  // an own "__proto__" key (JSON.parse makes one) must stay a key, not become the prototype
  for (const k of keys) if (k === '__proto__') Object.defineProperty(values, k, { value: 0, writable: true, enumerable: true, configurable: true });
  else values[k] = 0;
  return { keys, values };
}

/**
 * The analysis report's numbers and its short strings, refilled per line (one hidden class: JSON.stringify's
 * fast path); the key order is the AnalysisReport's, without the subject fields and without the summary,
 * which comes already encoded with the rest of the line.
 */
const analysis = {
  agentVersion: '',
  policy: '',
  /** @type {string | null} */
  fallbackReason: null,
  close: 0,
  trend: '',
  regime: '',
  volatilityState: '',
  momentum: 0,
  /** @type {Record<string, number>} */
  indicators: {},
  keyLevels: { support: [0.5], resistance: [0.5] },
  featureVersion: 0,
  features: [0.5],
};

/**
 * @param {Float64Array} f64
 * @param {number} p
 * @param {number[]} into
 */
function fill(f64, p, into) {
  const n = f64[p++];
  // emptied and pushed, never grown through `length`: that makes an array holey for good, and JSON.stringify
  // takes a slow per-element path for holey arrays
  into.length = 0;
  for (let j = 0; j < n; j++) into.push(f64[p++]);
  return p;
}

/**
 * Formats `count` lines of a batch, handing them to `out`: `out.bytes(u8, from, to)` for text the replay
 * thread already encoded (UTF-8), `out.objectOpen(json)` for the analysis report's JSON made here, written
 * without its closing brace.
 * Per line, `f64` holds: the byte lengths of its two encoded pieces — the head (`{"asOf":…,"outcome":…,
 * "analysis":`) and the rest (`,"summary":…},"recall":…}` and the newline); the string-table ids of
 * agentVersion, policy, fallbackReason (-1: null), trend, regime and volatilityState; the key set id and the
 * indicator values (as many as the key set has keys); close; momentum; the number of supports and the
 * supports; the number of resistances and the resistances; featureVersion; the number of features and the
 * features; the count of the rest's late numbers and the numbers. The pieces follow one another in `u8`; in the
 * rest, each late number stands as one \x01 byte (never in JSON text: control characters in strings are escaped)
 * and is written here, in order, as JSON.stringify would.
 * @param {Float64Array} f64
 * @param {Uint8Array} u8
 * @param {Map<number, KeySet>} keySets by key set id
 * @param {readonly string[]} strings the string table: index = id
 * @param {number} count
 * @param {{ bytes(u8: Uint8Array, from: number, to: number): void; objectOpen(json: string): void; ascii(text: string): void }} out
 */
export function formatLines(f64, u8, keySets, strings, count, out) {
  const a = analysis;
  let p = 0;
  let b = 0;
  for (let i = 0; i < count; i++) {
    const headLen = f64[p++];
    const restLen = f64[p++];
    a.agentVersion = str(strings, f64[p++]);
    a.policy = str(strings, f64[p++]);
    const fallback = f64[p++];
    a.fallbackReason = fallback < 0 ? null : str(strings, fallback);
    a.trend = str(strings, f64[p++]);
    a.regime = str(strings, f64[p++]);
    a.volatilityState = str(strings, f64[p++]);
    const set = keySets.get(f64[p++]);
    if (set === undefined) throw new Error(`decision lines: unknown indicator key set ${f64[p - 1]}`);
    const { keys, values } = set;
    for (let j = 0; j < keys.length; j++) values[/** @type {string} */ (keys[j])] = f64[p++];
    a.indicators = values;
    a.close = f64[p++];
    a.momentum = f64[p++];
    p = fill(f64, p, a.keyLevels.support);
    p = fill(f64, p, a.keyLevels.resistance);
    a.featureVersion = f64[p++];
    p = fill(f64, p, a.features);
    // the numbers the replay thread left in the rest as \x01 bytes, in text order
    const late = f64[p++];
    let lp = p;
    p += late;
    out.bytes(u8, b, (b += headLen));
    out.objectOpen(JSON.stringify(a)); // without its closing brace: the summary follows
    const end = b + restLen;
    for (let left = late; left > 0; left--) {
      const at = u8.indexOf(1, b);
      if (at < 0 || at >= end) throw new Error('decision lines: fewer number places than numbers in a line');
      out.bytes(u8, b, at);
      out.ascii(num(f64[lp++]));
      b = at + 1;
    }
    out.bytes(u8, b, (b = end));
  }
}

/** @param {readonly string[]} strings @param {number} id */
function str(strings, id) {
  const s = strings[id];
  if (s === undefined) throw new Error(`decision lines: unknown string id ${id}`);
  return s;
}

if (!isMainThread && parentPort !== null && workerData?.role === 'meridian-decision-lines') {
  const port = parentPort;
  const file = /** @type {string} */ (workerData.file);
  // a new file rather than a truncated one: ext4 (auto_da_alloc) flushes a truncated-and-rewritten file to disk
  // on close, seconds for a GB-sized decisions.jsonl in a re-used --out; regular files only (never a device or pipe)
  if (lstatSync(file, { throwIfNoEntry: false })?.isFile() === true) unlinkSync(file);
  const fd = openSync(file, 'w');
  // 64 KiB at a time: the kernel copies each write into the page cache from a buffer that is still in this
  // core's cache; with 4 MiB writes it read them back from memory (the --no-memory bench, alternating runs:
  // 49,459–54,067 bars/s with 4 MiB, 65,025–68,256 with 64 KiB; CPU 18.0–19.6 → 15.2–15.8 s; 16 and 32 KiB no better)
  const buf = Buffer.allocUnsafe(64 << 10);
  let used = 0;
  /** @type {Map<number, KeySet>} */
  const keySets = new Map();
  /** @type {string[]} */
  const strings = [];
  const flush = () => {
    let off = 0;
    while (off < used) off += writeSync(fd, buf, off, used - off);
    used = 0;
  };
  /** the batch's bytes as a Buffer, for Buffer#copy (no view object per piece) */
  let src = Buffer.alloc(0);
  const out = {
    bytes(/** @type {Uint8Array} */ u8, /** @type {number} */ from, /** @type {number} */ to) {
      if (src.buffer !== u8.buffer) src = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
      if (used + (to - from) > buf.length) {
        flush();
        if (to - from > buf.length) {
          let off = from;
          while (off < to) off += writeSync(fd, src, off, to - off);
          return;
        }
      }
      used += src.copy(buf, used, from, to);
    },
    ascii(/** @type {string} */ text) {
      if (used + text.length > buf.length) flush();
      used += buf.latin1Write(text, used);
    },
    objectOpen(/** @type {string} */ json) {
      if (used + json.length * 3 > buf.length) flush();
      if (json.length * 3 > buf.length) {
        const b = Buffer.from(json, 'utf8');
        let off = 0;
        while (off < b.length - 1) off += writeSync(fd, b, off, b.length - 1 - off);
        return;
      }
      // the closing brace is one byte: write it and step back over it
      used += buf.write(json, used, 'utf8') - 1;
    },
  };
  port.on('message', (/** @type {any} */ m) => {
    try {
      if (m.type === 'batch') {
        for (const [id, keys] of m.keySets) keySets.set(id, keySet(keys));
        for (const t of m.strings) strings.push(t);
        formatLines(m.f64, m.u8, keySets, strings, m.count, out);
        // the buffers go back to the replay thread for its next batch
        port.postMessage({ type: 'done', f64: m.f64, u8: m.u8 }, [m.f64.buffer, m.u8.buffer]);
      } else if (m.type === 'close') {
        flush();
        closeSync(fd);
        port.postMessage({ type: 'closed' });
      }
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), code: /** @type {any} */ (e)?.code ?? null });
    }
  });
}
