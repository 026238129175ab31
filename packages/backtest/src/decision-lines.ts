import { Worker } from 'node:worker_threads';
import type { DecisionLine } from '@meridian/contracts';
import { DeferredJson, shape } from './deferred-json.ts';
import { ThreadSignal } from './thread-signal.ts';

/** a decision line's recall: ids with distances and the statistics the signal agent saw */
const RECALL = shape([
  ['scope', 'word'],
  ['k', 'num'],
  ['memoryIds', 'json'],
  ['distances', 'nums'],
  [
    'stats',
    {
      object: shape([
        ['n', 'num'],
        ['meanReturn', 'num'],
        ['medianReturn', 'num'],
        ['hitRate', 'num'],
        ['dispersion', 'num'],
      ]),
    },
  ],
]);
const EVIDENCE_ENTRY = shape([
  ['name', 'word'],
  ['value', 'num'],
  ['reading', 'word'],
]);
/** the signal's evidence: without its memory ids and statistics when they are exactly the recall's (contracts' DecisionLineSchema) */
const EVIDENCE = {
  oneOf: [
    shape([['indicators', { list: EVIDENCE_ENTRY }]]),
    shape([
      ['indicators', { list: EVIDENCE_ENTRY }],
      ['memoryIds', 'json'],
      ['memoryStats', 'json'],
    ]),
  ],
} as const;
/** a decision line's signal: SignalProposal without the subject fields */
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
  ['evidence', EVIDENCE],
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
  readonly #signal = new ThreadSignal();
  #closed: (() => void) | null = null;
  #terminating = false;
  #batches = 0;
  /** the recall, signal and decision as JSON text with their numbers left to the writer thread */
  readonly #json = new DeferredJson();
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
        this.#signal.fail(Object.assign(new Error(`writing decisions.jsonl failed: ${m.message}`), { code: m.code }));
      }
      this.#signal.wake();
    });
    this.#worker.on('error', (e) => this.#signal.fail(e));
    this.#worker.on('exit', (code) => {
      if (!this.#terminating) this.#signal.fail(new Error(`the decisions.jsonl writer thread exited unexpectedly (code ${code})`));
    });
  }

  /** true when `maxInFlight` batches wait for the writer thread: await `ready()` before more */
  get blocked(): boolean {
    return this.#inFlight >= this.#maxInFlight;
  }

  /** recalls, signals and decisions not of their contract shape, so serialised on the replay thread (see deferred-json.ts) */
  get fallbacks(): number {
    return this.#json.fallbacks;
  }

  /** batches handed to the writer thread so far */
  get batches(): number {
    return this.#batches;
  }

  write(l: DecisionLine): void {
    if (this.#signal.error !== null) throw this.#signal.error;
    const a = l.analysis;
    const json = this.#json;
    json.reset();
    const head = `{"asOf":${l.asOf},"schemaVersion":${l.schemaVersion},"decisionId":${JSON.stringify(l.decisionId)},"exchange":${json.quote(l.exchange)},"symbol":${json.quote(l.symbol)},"timeframe":${json.quote(l.timeframe)},"outcome":${json.quote(l.outcome)},"analysis":`;
    const rest = `,"summary":${JSON.stringify(a.summary)}},"recall":${json.write(l.recall, RECALL)},"signal":${json.write(l.signal, SIGNAL)},"decision":${json.write(l.decision, DECISION)},"verdict":${JSON.stringify(l.verdict)},"orderRequest":${JSON.stringify(l.orderRequest)},"resolution":${JSON.stringify(l.resolution)}}\n`;
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
    const late = json.late;
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

  /** resolves once the writer thread has room for another batch (at once when it has) */
  async ready(): Promise<void> {
    while (this.#inFlight >= this.#maxInFlight && this.#signal.error === null) await this.#signal.next();
    if (this.#signal.error !== null) throw this.#signal.error;
  }

  /** sends what is buffered, waits until the writer thread has written and closed the file, stops the thread */
  async close(): Promise<void> {
    try {
      if (this.#signal.error === null && this.#count > 0) this.#send();
      if (this.#signal.error === null) {
        const closed = new Promise<void>((r) => (this.#closed = r));
        this.#worker.postMessage({ type: 'close' });
        await Promise.race([closed, this.#failed()]);
      }
    } finally {
      this.#terminating = true;
      await this.#worker.terminate();
    }
    if (this.#signal.error !== null) throw this.#signal.error;
  }

  /** resolves once the writer thread has failed */
  async #failed(): Promise<void> {
    while (this.#signal.error === null) await this.#signal.next();
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
}
