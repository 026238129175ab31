import { Worker } from 'node:worker_threads';
import type { DecisionLine } from '@meridian/contracts';

/**
 * Writes decisions.jsonl on a second thread. A line is `JSON.stringify(decisionLine)` + '\n', byte for byte
 * (decision-lines.test.ts proves it against the plain serializer); what moves off the replay thread is
 * turning the analysis report into JSON (indicators, key levels, features — about 60 shortest-decimal
 * conversions per bar, most of the cost of a line) and writing the file:
 *
 * - the replay thread encodes each line as two pieces of UTF-8 JSON text (everything before the analysis
 *   report, everything after it) into a byte buffer, copies the report's numbers into a Float64Array and
 *   sends its short strings (agent version, policy, enums) as ids of a string table;
 * - every `batchLines` lines (or when the bytes are full) the batch goes to the writer thread
 *   (decision-lines-worker.mjs; both buffers are transferred, not copied, and come back for reuse), which
 *   formats the numbers, joins the pieces and writes the lines in order.
 *
 * Back-pressure: with `maxInFlight` batches unacknowledged, `blocked` is true and the replay awaits `ready()`.
 * The first error of the writer thread is thrown from the next `write`, `ready` or `close`.
 */
const RECALL_KEYS = ['scope', 'k', 'memoryIds', 'distances', 'stats'] as const;

/**
 * How a field of a fixed-shape agent message is written: `num` a number (left to the writer thread) or null;
 * `word` a short string that repeats bar after bar (memoised JSON text) or null; `text` any string (JSON.stringify);
 * `evidence` the signal's evidence.
 */
type FieldKind = 'num' | 'word' | 'text' | 'evidence';
interface Shape {
  readonly keys: readonly string[];
  readonly kinds: readonly FieldKind[];
  /** the JSON text before each value: `{"key":` for the first, `,"key":` for the others */
  readonly prefixes: readonly string[];
}
function shape(fields: readonly (readonly [string, FieldKind])[]): Shape {
  return {
    keys: fields.map(([k]) => k),
    kinds: fields.map(([, t]) => t),
    prefixes: fields.map(([k], i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`),
  };
}
/** a decision line's signal: SignalProposal without the subject fields (contracts' DecisionLineSchema) */
const SIGNAL = shape([
  ['agentVersion', 'word'],
  ['policy', 'word'],
  ['fallbackReason', 'text'],
  ['direction', 'word'],
  ['strength', 'num'],
  ['confidence', 'num'],
  ['entry', 'num'],
  ['stop', 'num'],
  ['target', 'num'],
  ['horizonBars', 'num'],
  ['evidence', 'evidence'],
  ['rationale', 'text'],
]);
/** a decision line's decision: TradeDecision without the subject fields and the decision id */
const DECISION = shape([
  ['agentVersion', 'word'],
  ['policy', 'word'],
  ['fallbackReason', 'text'],
  ['action', 'word'],
  ['side', 'word'],
  ['quantity', 'num'],
  ['orderType', 'word'],
  ['limitPrice', 'num'],
  ['stopPrice', 'num'],
  ['targetPrice', 'num'],
  ['referencePrice', 'num'],
  ['confidence', 'num'],
  ['rationale', 'text'],
]);
const EVIDENCE_ENTRY = shape([
  ['name', 'word'],
  ['value', 'num'],
  ['reading', 'word'],
]);
const EVIDENCE_KEYS = ['indicators'] as const;
const EVIDENCE_MEMORY_KEYS = ['indicators', 'memoryIds', 'memoryStats'] as const;
const STATS_KEYS = ['n', 'meanReturn', 'medianReturn', 'hitRate', 'dispersion'] as const;

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

export class DecisionLinesWriter {
  readonly #worker: Worker;
  readonly #batchLines: number;
  readonly #maxInFlight: number;
  #f64: Float64Array;
  #p = 0;
  #u8: Buffer;
  #b = 0;
  #count = 0;
  #inFlight = 0;
  readonly #spare: { f64: Float64Array; u8: Buffer }[] = [];
  /** indicator key sets: the current one and every one sent so far, by its joined keys */
  readonly #keySetIds = new Map<string, number>();
  #newKeySets: [number, string[]][] = [];
  #keys: string[] = [];
  #keySetId = -1;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #closed: (() => void) | null = null;
  #terminating = false;
  #batches = 0;
  readonly #quoted = new Map<string, string>();
  /** the current line's numbers left to the writer thread (#recallText), in text order */
  readonly #late: number[] = [];
  /** the writer thread's string table (agent versions, policies, enums, fallback reasons): id by string */
  readonly #stringIds = new Map<string, number>();
  #newStrings: string[] = [];

  constructor(file: string, options: { batchLines?: number; maxInFlight?: number } = {}) {
    this.#batchLines = Math.max(1, options.batchLines ?? 1024);
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.#f64 = new Float64Array(this.#batchLines * 96);
    this.#u8 = Buffer.allocUnsafeSlow(this.#batchLines * 4096);
    this.#worker = new Worker(new URL('./decision-lines-worker.mjs', import.meta.url), {
      workerData: { role: 'meridian-decision-lines', file },
      // the writer needs no loader, and must not inherit one that a worker cannot start with
      execArgv: [],
    });
    this.#worker.on('message', (m: { type: 'done'; f64: Float64Array; u8: Uint8Array } | { type: 'closed' } | { type: 'error'; message: string; code: string | null }) => {
      if (m.type === 'done') {
        this.#inFlight--;
        this.#spare.push({ f64: m.f64, u8: Buffer.from(m.u8.buffer, m.u8.byteOffset, m.u8.byteLength) });
      } else if (m.type === 'closed') {
        this.#closed?.();
      } else {
        this.#fail(Object.assign(new Error(`writing decisions.jsonl failed: ${m.message}`), { code: m.code }));
      }
      this.#wakeUp();
    });
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => {
      if (!this.#terminating) this.#fail(new Error(`the decisions.jsonl writer thread exited unexpectedly (code ${code})`));
    });
  }

  /** true when `maxInFlight` batches wait for the writer thread: await `ready()` before more */
  get blocked(): boolean {
    return this.#inFlight >= this.#maxInFlight;
  }

  /** batches handed to the writer thread so far */
  get batches(): number {
    return this.#batches;
  }

  write(l: DecisionLine): void {
    if (this.#error !== null) throw this.#error;
    const a = l.analysis;
    const head = `{"asOf":${l.asOf},"schemaVersion":${l.schemaVersion},"decisionId":${JSON.stringify(l.decisionId)},"exchange":${this.#q(l.exchange)},"symbol":${this.#q(l.symbol)},"timeframe":${this.#q(l.timeframe)},"outcome":${this.#q(l.outcome)},"analysis":`;
    const late = this.#late;
    late.length = 0;
    const rest = `,"summary":${JSON.stringify(a.summary)}},"recall":${this.#recallText(l.recall)},"signal":${this.#shaped(l.signal, SIGNAL)},"decision":${this.#shaped(l.decision, DECISION)},"verdict":${JSON.stringify(l.verdict)},"orderRequest":${JSON.stringify(l.orderRequest)},"resolution":${JSON.stringify(l.resolution)}}\n`;
    const maxBytes = (head.length + rest.length) * 3;
    if (this.#b + maxBytes > this.#u8.length) {
      if (this.#count > 0) this.#send();
      if (maxBytes > this.#u8.length) this.#u8 = Buffer.allocUnsafeSlow(maxBytes);
    }
    const u8 = this.#u8;
    let b = this.#b;
    const ind = a.indicators;
    const sup = a.keyLevels.support;
    const res = a.keyLevels.resistance;
    const feat = a.features;
    const need = 2 + 6 + 1 + this.#keys.length + 2 + 1 + sup.length + 1 + res.length + 2 + feat.length + 1 + late.length + 64;
    let f = this.#p + need > this.#f64.length ? this.#grow(this.#p + need, this.#p) : this.#f64;
    let p = this.#p;
    const lengthsAt = p;
    p += 2;
    f[p++] = this.#id(a.agentVersion);
    f[p++] = this.#id(a.policy);
    f[p++] = a.fallbackReason === null ? -1 : this.#id(a.fallbackReason);
    f[p++] = this.#id(a.trend);
    f[p++] = this.#id(a.regime);
    f[p++] = this.#id(a.volatilityState);
    // indicators: the same keys in the same order bar after bar, so they are sent once per key set
    const keyAt = p++;
    let j = 0;
    let same = true;
    for (const k in ind) {
      if (same && this.#keys[j] !== k) same = false;
      if (p + 1 + sup.length + 1 + res.length + 2 + feat.length + 1 + late.length + 2 >= f.length) f = this.#grow(p + need, p);
      f[p++] = ind[k]!;
      j++;
    }
    if (!same || j !== this.#keys.length || this.#keySetId < 0) this.#useKeySet(Object.keys(ind));
    f[keyAt] = this.#keySetId;
    f[p++] = a.close;
    f[p++] = a.momentum;
    f[p++] = sup.length;
    for (let i = 0; i < sup.length; i++) f[p++] = sup[i]!;
    f[p++] = res.length;
    for (let i = 0; i < res.length; i++) f[p++] = res[i]!;
    f[p++] = a.featureVersion;
    f[p++] = feat.length;
    for (let i = 0; i < feat.length; i++) f[p++] = feat[i]!;
    f[p++] = late.length;
    for (let i = 0; i < late.length; i++) f[p++] = late[i]!;
    let n = u8.write(head, b);
    f[lengthsAt] = n;
    b += n;
    n = u8.write(rest, b);
    f[lengthsAt + 1] = n;
    b += n;
    this.#b = b;
    this.#p = p;
    if (++this.#count >= this.#batchLines) this.#send();
  }

  /**
   * The recall as JSON text with its numbers left to the writer thread: each is a \x01 byte in the text
   * (a byte JSON text never holds: JSON.stringify escapes control characters inside strings) and its value
   * appended to `late`. Twenty full-precision distances are most of a recall's formatting cost. Anything but
   * the contract's shape (keys in its order, numbers where it has numbers) goes through JSON.stringify here.
   */
  #recallText(r: DecisionLine['recall']): string {
    if (r === null) return 'null';
    const st = r.stats as unknown;
    if (!sameKeys(r, RECALL_KEYS) || st === null || typeof st !== 'object' || !sameKeys(st, STATS_KEYS)) return JSON.stringify(r);
    const { scope, k, memoryIds, distances } = r as { scope: unknown; k: unknown; memoryIds: unknown; distances: unknown };
    const { n, meanReturn, medianReturn, hitRate, dispersion } = st as Record<(typeof STATS_KEYS)[number], unknown>;
    if (typeof scope !== 'string' || typeof k !== 'number' || !Array.isArray(memoryIds) || !Array.isArray(distances)) return JSON.stringify(r);
    if (typeof n !== 'number' || typeof meanReturn !== 'number' || typeof medianReturn !== 'number' || typeof hitRate !== 'number' || typeof dispersion !== 'number')
      return JSON.stringify(r);
    const late = this.#late;
    const from = late.length;
    late.push(k); // in text order: k, the distances, the statistics
    let ds = '[';
    for (let i = 0; i < distances.length; i++) {
      const d: unknown = distances[i];
      if (typeof d !== 'number') {
        late.length = from;
        return JSON.stringify(r);
      }
      ds += i === 0 ? '\x01' : ',\x01';
      late.push(d);
    }
    late.push(n, meanReturn, medianReturn, hitRate, dispersion);
    return `{"scope":${this.#q(scope)},"k":\x01,"memoryIds":${JSON.stringify(memoryIds)},"distances":${ds}],"stats":{"n":\x01,"meanReturn":\x01,"medianReturn":\x01,"hitRate":\x01,"dispersion":\x01}}`;
  }

  /**
   * A fixed-shape agent message (the signal, the decision) as JSON text with its numbers left to the writer
   * thread, as #recallText does; JSON.stringify (on this thread) for anything but the shape's keys in its order
   * with the value types it expects.
   */
  #shaped(o: object | null, sh: Shape): string {
    const late = this.#late;
    const from = late.length;
    const text = o === null ? null : this.#fields(o, sh);
    if (text !== null) return text;
    late.length = from;
    return JSON.stringify(o);
  }

  /** `o` written field by field after `sh`, or null when it does not have that shape */
  #fields(o: object, sh: Shape): string | null {
    if (!sameKeys(o, sh.keys)) return null;
    const rec = o as Record<string, unknown>;
    let s = '';
    for (let i = 0; i < sh.keys.length; i++) {
      const v = rec[sh.keys[i]!];
      let t: string | null;
      switch (sh.kinds[i]!) {
        case 'num':
          if (typeof v === 'number') {
            this.#late.push(v);
            t = '\x01';
          } else t = v === null ? 'null' : null;
          break;
        case 'word':
          t = typeof v === 'string' ? this.#q(v) : v === null ? 'null' : null;
          break;
        case 'text':
          t = typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : null;
          break;
        case 'evidence':
          t = v !== null && typeof v === 'object' ? this.#evidence(v) : null;
          break;
      }
      if (t === null) return null;
      s += sh.prefixes[i]! + t;
    }
    return `${s}}`;
  }

  /** the signal's evidence: indicator entries field by field, memory ids and statistics (when there) as JSON */
  #evidence(e: object): string | null {
    const withMemory = sameKeys(e, EVIDENCE_MEMORY_KEYS);
    if (!withMemory && !sameKeys(e, EVIDENCE_KEYS)) return null;
    const { indicators, memoryIds, memoryStats } = e as { indicators: unknown; memoryIds?: unknown; memoryStats?: unknown };
    if (!Array.isArray(indicators)) return null;
    let s = '{"indicators":[';
    for (let i = 0; i < indicators.length; i++) {
      const x: unknown = indicators[i];
      const t = x !== null && typeof x === 'object' ? this.#fields(x, EVIDENCE_ENTRY) : null;
      if (t === null) return null;
      s += i === 0 ? t : `,${t}`;
    }
    if (!withMemory) return `${s}]}`;
    // JSON.stringify leaves out a key whose value it cannot write: leave such evidence to it whole
    const ids = jsonOf(memoryIds);
    const stats = jsonOf(memoryStats);
    if (ids === null || stats === null) return null;
    return `${s}],"memoryIds":${ids},"memoryStats":${stats}}`;
  }

  /** resolves once the writer thread has room for another batch (at once when it has) */
  async ready(): Promise<void> {
    while (this.#inFlight >= this.#maxInFlight && this.#error === null) await new Promise<void>((r) => (this.#wake = r));
    if (this.#error !== null) throw this.#error;
  }

  /** sends what is buffered, waits until the writer thread has written and closed the file, stops the thread */
  async close(): Promise<void> {
    try {
      if (this.#error === null && this.#count > 0) this.#send();
      if (this.#error === null) {
        const closed = new Promise<void>((r) => (this.#closed = r));
        this.#worker.postMessage({ type: 'close' });
        await Promise.race([closed, this.#failed()]);
      }
    } finally {
      this.#terminating = true;
      await this.#worker.terminate();
    }
    if (this.#error !== null) throw this.#error;
  }

  #failed(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.#error !== null) resolve();
        else this.#wake = check;
      };
      check();
    });
  }

  #send(): void {
    const f64 = this.#f64;
    const u8 = this.#u8;
    // sizes before the transfer detaches the buffers (a detached buffer has length 0)
    const f64Length = f64.length;
    const u8Length = u8.length;
    this.#worker.postMessage({ type: 'batch', f64, u8, count: this.#count, keySets: this.#newKeySets, strings: this.#newStrings }, [f64.buffer as ArrayBuffer, u8.buffer as ArrayBuffer]);
    this.#inFlight++;
    this.#batches++;
    const spare = this.#spare.pop();
    this.#f64 = spare?.f64 ?? new Float64Array(f64Length);
    this.#u8 = spare?.u8 ?? Buffer.allocUnsafeSlow(u8Length);
    this.#p = 0;
    this.#b = 0;
    this.#count = 0;
    this.#newKeySets = [];
    this.#newStrings = [];
  }

  #useKeySet(keys: string[]): void {
    const joined = keys.join('\u0000');
    let id = this.#keySetIds.get(joined);
    if (id === undefined) {
      id = this.#keySetIds.size;
      this.#keySetIds.set(joined, id);
      this.#newKeySets.push([id, keys]);
    }
    this.#keys = keys;
    this.#keySetId = id;
  }

  /** a larger numbers buffer holding the first `used` values of the current one */
  #grow(min: number, used: number): Float64Array {
    const next = new Float64Array(Math.max(min, this.#f64.length * 2));
    next.set(this.#f64.subarray(0, used));
    this.#f64 = next;
    return next;
  }

  #id(s: string): number {
    let id = this.#stringIds.get(s);
    if (id === undefined) {
      id = this.#stringIds.size;
      this.#stringIds.set(s, id);
      this.#newStrings.push(s);
    }
    return id;
  }

  /** JSON text of a string that repeats bar after bar (ids excepted): memoised */
  readonly #q = (s: string): string => {
    let t = this.#quoted.get(s);
    if (t === undefined) {
      t = JSON.stringify(s);
      if (this.#quoted.size < 4096) this.#quoted.set(s, t);
    }
    return t;
  };

  #fail(e: Error): void {
    this.#error ??= e;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}
