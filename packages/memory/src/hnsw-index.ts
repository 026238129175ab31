/**
 * An incremental HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
 * search using Hierarchical Navigable Small World graphs", 2016/2018) for the in-process memory: one
 * index per series (exchange, symbol, timeframe, feature version, horizon), one node per resolved
 * memory, Euclidean distance. Everything lives in typed arrays that grow by doubling: the vectors in
 * one Float32Array, layer-0 links (and their distances) in one Int32Array / Float32Array with a fixed
 * stride, upper-layer links in another pair. Searches reuse the same heaps and a visit-stamp array,
 * so the hot path allocates nothing.
 *
 * The graph works on an int8 copy of the vectors (round(x · quantScale), clamped), in an array of
 * its own: one 32-byte code per node instead of 128 bytes of float32, packed, so the distances — most
 * of a search's memory reads — touch 17 MB at 525k nodes instead of the 69 MB of link blocks with
 * the codes inside them (the previous layout: 8% fewer bars/s on the year-long backtest). The
 * distances read a code as int32 words (4 codes each, little-endian) against the query expanded to
 * one int32 per dimension (qdistQ): a quarter of the loads on the node's side. Integer distances are
 * exact, so the walk stays deterministic. A search re-ranks its ef candidates by their exact float32
 * distances, so what it returns (ids and distances) is exact for the candidates it found;
 * quantization only affects which candidates are found. At 500k vectors the search is bound by
 * cache misses, so the loops first touch every node they are about to read (independent loads, all
 * in flight at once), then compute; a search also touches the links of the candidate it will most
 * likely expand next while it computes the current one's distances.
 *
 * Deterministic: a node's level is a hash of (seed, its insertion position), never Math.random; every
 * comparison breaks distance ties by id; so the same calls give the same graph and the same answers.
 *
 * Point in time: each node carries its `resolvedAt`; a search returns only nodes with
 * resolvedAt ≤ asOf. It still walks through newer nodes (they are part of the graph), but never
 * returns them. When few nodes match (an early asOf), the search is exact over the matching ones
 * instead, and an approximate search that finds fewer than k matching nodes is repeated exactly, so
 * the filter is always exact and only the ranking is approximate. Below `exactBelow` vectors there
 * is no graph at all: brute force is exact and cheap there.
 */
export interface HnswOptions {
  /** links per node on the upper layers; layer 0 keeps up to 2·m (default 12) */
  readonly m?: number;
  /** candidate list while inserting: larger = better graph, slower inserts (default 40) */
  readonly efConstruction?: number;
  /** candidate list while searching; a search uses max(efSearch, k) (default 32) */
  readonly efSearch?: number;
  /** brute force (no graph) until the index holds this many vectors, and for filters matching fewer (default 4,096) */
  readonly exactBelow?: number;
  /** seed of the level generator (default 1) */
  readonly seed?: number;
  /**
   * the graph walks on an int8 copy of the vectors, round(x · quantScale) clamped to ±127 (default
   * 64: ±1.98 at a step of 1/64; the features are within ±1.5); the final candidates are re-ranked
   * with the exact float32 distances
   */
  readonly quantScale?: number;
}

/** remembered searches (see #remember), and how many insertions since one may be for it to still be used */
const RING = 128;
const MAX_NEW = 64;

const DEFAULTS: Required<HnswOptions> = { m: 12, efConstruction: 40, efSearch: 32, exactBelow: 4096, seed: 1, quantScale: 64 };

/** The k best (smallest distance) found so far, sorted ascending; ties keep the smaller id. */
export class TopK {
  readonly ids: Int32Array;
  readonly dist: Float64Array;
  size = 0;
  constructor(readonly k: number) {
    this.ids = new Int32Array(k);
    this.dist = new Float64Array(k);
  }
  /** squared distance a candidate must not exceed to enter */
  get bound(): number {
    return this.size < this.k ? Infinity : this.dist[this.k - 1]!;
  }
  /** true when (d, id) would enter: the list is not full, or it beats the worst by distance, then id */
  accepts(id: number, d: number): boolean {
    if (this.size < this.k) return true;
    const w = this.dist[this.k - 1]!;
    return d < w || (d === w && id < this.ids[this.k - 1]!);
  }
  /** insert (d, id); call only when accepts(id, d) */
  offer(id: number, d: number): void {
    let i = this.size < this.k ? this.size++ : this.k - 1;
    const dist = this.dist;
    const ids = this.ids;
    while (i > 0 && (dist[i - 1]! > d || (dist[i - 1]! === d && ids[i - 1]! > id))) {
      dist[i] = dist[i - 1]!;
      ids[i] = ids[i - 1]!;
      i--;
    }
    dist[i] = d;
    ids[i] = id;
  }
}

/** A binary min-heap of (squared distance, id) on typed arrays, ties by smaller id: the candidates to expand. */
class MinHeap {
  d = new Float64Array(256);
  i = new Int32Array(256);
  n = 0;

  push(dist: number, id: number): void {
    if (this.n === this.d.length) this.#grow();
    const d = this.d;
    const ids = this.i;
    let c = this.n++;
    while (c > 0) {
      const p = (c - 1) >> 1;
      const pd = d[p]!;
      if (pd < dist || (pd === dist && ids[p]! < id)) break;
      d[c] = pd;
      ids[c] = ids[p]!;
      c = p;
    }
    d[c] = dist;
    ids[c] = id;
  }

  /** removes the top; read d[0] / i[0] before */
  pop(): void {
    const n = --this.n;
    if (n === 0) return;
    const d = this.d;
    const ids = this.i;
    const ld = d[n]!;
    const li = ids[n]!;
    let c = 0;
    for (;;) {
      let b = 2 * c + 1;
      if (b >= n) break;
      if (b + 1 < n && (d[b + 1]! < d[b]! || (d[b + 1] === d[b] && ids[b + 1]! < ids[b]!))) b++;
      if (d[b]! > ld || (d[b] === ld && ids[b]! > li)) break;
      d[c] = d[b]!;
      ids[c] = ids[b]!;
      c = b;
    }
    d[c] = ld;
    ids[c] = li;
  }

  #grow(): void {
    const d = new Float64Array(this.n * 2);
    d.set(this.d);
    this.d = d;
    const i = new Int32Array(this.n * 2);
    i.set(this.i);
    this.i = i;
  }
}


/** How the searches of an index were answered (for tests and benchmarks). */
export interface HnswPaths {
  /** brute force: no graph yet, or a filter matching fewer than the threshold */
  exact: number;
  /** the graph */
  hnsw: number;
  /** a graph search that found fewer than k matching nodes, repeated exactly */
  fallback: number;
}

export class HnswIndex {
  readonly dim: number;
  readonly #m: number;
  readonly #m0: number;
  readonly #efC: number;
  readonly #efS: number;
  readonly #exactBelow: number;
  readonly #seed: number;
  readonly #mL: number;
  /** no graph, ever: brute force for every search (reference runs) */
  readonly #exactOnly: boolean;

  #n = 0;
  #cap: number;
  #vecs: Float32Array;
  /**
   * the int8 copy of the vectors the graph works on (byte e·#qs + #q0), a view of #w: codes apart from
   * the links, 32 bytes per node for 32-d, so the distances (most of a search's memory reads) touch
   * a quarter of the memory they would touch with the codes inside the link blocks
   */
  #qv: Int8Array;
  /** #links0's stride in int32s (count, m0 links) */
  readonly #s0: number;
  /** a code's stride in bytes (4·#cw) in #qv, and its offset (0) */
  readonly #qs: number;
  readonly #q0: number;
  readonly #qScale: number;
  /** the quantized query */
  #qq: Int8Array;
  /** the codes as int32 words: a node's code is words e·#cw … + #cw (4 codes per word, little-endian) */
  #w: Int32Array;
  readonly #cw: number;
  /** the code being searched for, one int32 per dimension (zero-padded to #cw·4): see qdistQ */
  readonly #qi: Int32Array;
  /** the selection's kept nodes, each expanded as #qi (#select compares every candidate with them) */
  #selQ: Int32Array;
  #ra: Float64Array;
  /** layer 0: per node [count, link × m0], and the links' distances in the same slots */
  #links0: Int32Array;
  #dist0: Float32Array;
  /** upper layers: a node of level L ≥ 1 owns L blocks of [count, link × m] from #upperOff[node] */
  #upperOff: Int32Array;
  #upper = new Int32Array(1024);
  #upperDist = new Float32Array(1024);
  #upperLen = 0;
  /** nodes [0, graphN) are in the graph */
  #graphN = 0;
  #entry = -1;
  #maxLevel = -1;
  /** visit stamps, one byte per node (fits the L2 cache at 500k nodes); wiped every 255 searches */
  #visited: Uint8Array;
  #stamp = 0;
  #maxRa = -Infinity;
  /** resolvedAt never decreased along insertion order: the nodes matching asOf are a prefix */
  #monotone = true;

  readonly #cand = new MinHeap();
  /**
   * the ef results found so far, worst on top: a MinHeap of negated (distance, id), so its top is the largest
   * distance, ties the larger id — read it as −d[0], −i[0]
   */
  readonly #res = new MinHeap();
  /** a layer's search result, sorted ascending */
  #sortD = new Float64Array(256);
  #sortI = new Int32Array(256);
  /** the neighbour selection's scratch */
  #selI = new Int32Array(64);
  #selD = new Float64Array(64);
  /** the links back from a new node, copied out of the selection scratch */
  #backI = new Int32Array(64);
  #backD = new Float64Array(64);
  /** #link's re-selection scratch */
  #linkI = new Int32Array(130);
  #linkD = new Float64Array(130);
  readonly paths: HnswPaths = { exact: 0, hnsw: 0, fallback: 0 };
  /** graph searches seeded from the previous one's results; insertions that reused a search's results */
  warmStarts = 0;
  hintedInserts = 0;
  /** the vectors' bits (same buffer as #vecs) */
  #vecBits: Int32Array;
  readonly #ringCap: number;
  readonly #ringVec: Float32Array;
  readonly #ringQ: Int8Array;
  readonly #ringBits: Int32Array;
  readonly #ringHash = new Int32Array(RING);
  readonly #ringN = new Int32Array(RING);
  readonly #ringCnt = new Int32Array(RING);
  readonly #ringWorst = new Float64Array(RING);
  readonly #ringI: Int32Array;
  readonly #ringD: Float64Array;
  #ringPos = RING - 1;
  #ringUsed = 0;

  constructor(dim: number, options: HnswOptions | false = {}, initialCapacity = 1024) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dimension must be a positive integer, got ${dim}`);
    const o = { ...DEFAULTS, ...(options === false ? {} : options) };
    if (!Number.isInteger(o.m) || o.m < 2 || o.m > 64) throw new RangeError(`m must be an integer from 2 to 64, got ${o.m}`);
    if (!Number.isInteger(o.efConstruction) || o.efConstruction < 1) throw new RangeError(`efConstruction must be a positive integer, got ${o.efConstruction}`);
    if (!Number.isInteger(o.efSearch) || o.efSearch < 1) throw new RangeError(`efSearch must be a positive integer, got ${o.efSearch}`);
    this.dim = dim;
    this.#m = o.m;
    this.#m0 = 2 * o.m;
    this.#efC = Math.max(o.efConstruction, o.m);
    this.#efS = o.efSearch;
    this.#exactBelow = Math.max(1, o.exactBelow);
    this.#seed = o.seed | 0;
    this.#mL = 1 / Math.log(o.m);
    this.#exactOnly = options === false;
    const cap = Math.max(16, initialCapacity | 0);
    this.#cap = cap;
    this.#vecs = new Float32Array(cap * dim);
    this.#qq = new Int8Array(dim);
    if (!(o.quantScale > 0) || !Number.isFinite(o.quantScale)) throw new RangeError(`quantScale must be a positive number, got ${o.quantScale}`);
    this.#qScale = o.quantScale;
    this.#ra = new Float64Array(cap);
    this.#s0 = this.#m0 + 1;
    this.#cw = Math.ceil(dim / 4);
    this.#qs = this.#cw * 4;
    this.#q0 = 0;
    this.#links0 = new Int32Array(cap * this.#s0);
    this.#w = new Int32Array(cap * this.#cw);
    this.#qv = new Int8Array(this.#w.buffer);
    this.#qi = new Int32Array(this.#cw * 4);
    this.#selQ = new Int32Array(64 * this.#cw * 4);
    this.#dist0 = new Float32Array(cap * this.#s0);
    this.#upperOff = new Int32Array(cap);
    this.#visited = new Uint8Array(cap);
    this.#vecBits = new Int32Array(this.#vecs.buffer);
    this.#ringCap = Math.max(this.#efC, this.#efS);
    this.#ringVec = new Float32Array(RING * dim);
    this.#ringQ = new Int8Array(RING * dim);
    this.#ringBits = new Int32Array(this.#ringVec.buffer);
    this.#ringI = new Int32Array(RING * this.#ringCap);
    this.#ringD = new Float64Array(RING * this.#ringCap);
  }

  /** vectors held */
  get size(): number {
    return this.#n;
  }

  /** vectors in the graph (0 while the index is brute force) */
  get graphSize(): number {
    return this.#graphN;
  }

  /** the top layer (−1: no graph) */
  get maxLevel(): number {
    return this.#maxLevel;
  }

  /** capacity in vectors (grows by doubling) */
  get capacity(): number {
    return this.#cap;
  }

  /** Add a vector with its resolvedAt; returns its id (its insertion position, 0, 1, 2, …). */
  add(vec: ArrayLike<number>, resolvedAt: number): number {
    if (vec.length !== this.dim) throw new RangeError(`vector has ${vec.length} values, the index has ${this.dim}`);
    const id = this.#n;
    if (id === this.#cap) this.#grow();
    const d = this.dim;
    const v = this.#vecs;
    const off = id * d;
    for (let j = 0; j < d; j++) v[off + j] = vec[j]!;
    quantize(v, off, this.#qv, id * this.#qs + this.#q0, d, this.#qScale);
    this.#ra[id] = resolvedAt;
    if (resolvedAt < this.#maxRa) this.#monotone = false;
    else this.#maxRa = resolvedAt;
    this.#n = id + 1;
    if (!this.#exactOnly && this.#n >= this.#exactBelow) while (this.#graphN < this.#n) this.#insert(this.#graphN);
    return id;
  }

  /** how many vectors have resolvedAt ≤ asOf */
  matching(asOf: number): number {
    const n = this.#n;
    if (asOf >= this.#maxRa) return n;
    const ra = this.#ra;
    if (this.#monotone) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ra[mid]! <= asOf) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    let c = 0;
    for (let i = 0; i < n; i++) if (ra[i]! <= asOf) c++;
    return c;
  }

  /**
   * The k nearest vectors with resolvedAt ≤ asOf, into `out` (squared distances, ascending, ties by id).
   * Approximate on the graph; exact when the index is small, the filter selective, or the graph
   * search came back short.
   */
  search(q: Float32Array, asOf: number, out: TopK): void {
    out.size = 0;
    const n = this.#n;
    if (n === 0) return;
    const m = this.matching(asOf);
    if (m === 0) return;
    const ef = Math.max(this.#efS, out.k);
    // filtered graph search visits about ef/share matching-equivalents; brute force visits m: exact
    // wins below about √(20·ef·n) matching (20 ≈ distances computed per node expanded)
    if (this.#graphN < n || m < this.#exactBelow || m * m < 20 * ef * n) {
      this.paths.exact++;
      this.#exact(q, asOf, m === n, out);
      return;
    }
    const all = m === n;
    const qq = this.#qq;
    quantize(q, 0, qq, 0, this.dim, this.#qScale);
    this.#setQuery(qq, 0);
    this.#begin();
    // a query within the previous query's result ball starts from those results (a backtest's
    // consecutive bars are neighbours in feature space): no descent from the top, and the walk stays
    // in memory the previous query just touched. Otherwise, the usual descent through the layers.
    if (!(all && this.#warmStart(qq, ef))) {
      let ep = this.#entry;
      let epD = qdistQ(this.#qi, 0, this.#w, ep * this.#cw, this.#cw);
      for (let l = this.#maxLevel; l > 0; l--) {
        ep = this.#greedy(ep, epD, l);
        epD = this.#lastD;
      }
      this.#seedNode(ep, epD, all ? Infinity : asOf, ef);
    }
    // a filtered search may walk many non-matching nodes; past a few times what brute force would
    // cost it gives up (then the exact search answers)
    const complete = this.#expand(ef, 0, all ? Infinity : asOf, all ? Infinity : 4 * m);
    const res = this.#res;
    const want = Math.min(out.k, m);
    if (!complete || res.n < want) {
      this.paths.fallback++;
      this.#exact(q, asOf, all, out);
      return;
    }
    this.paths.hnsw++;
    const cnt = this.#drain();
    if (all) this.#remember(q, cnt);
    // the ef candidates found on the int8 copy, re-ranked by their exact float32 distances: the
    // distances returned are exact, and quantization only matters for which candidates are found
    const d = this.dim;
    const v = this.#vecs;
    const si = this.#sortI;
    // touch both cache lines of every candidate's float32 vector first (misses in parallel, as in #expand)
    let touch = 0;
    for (let j = 0; j < cnt; j++) {
      const o = si[j]! * d;
      touch += v[o]! + v[o + d - 1]!;
    }
    this.#touch = touch;
    for (let j = 0; j < cnt; j++) {
      const e = si[j]!;
      const s = dist2(q, 0, v, e * d, d);
      if (out.accepts(e, s)) out.offer(e, s);
    }
  }

  /**
   * Recent unfiltered searches, a ring of R slots: the query vector (and a hash of its bits), the
   * graph size then, and its nearest C results with their squared distances. The newest one seeds
   * the next search (#warmStart); any of them whose vector is bit-identical to a vector being
   * inserted gives that insertion its candidates (#insert): in a backtest the situation resolved at
   * bar t was recalled with the same features at bar t − horizon, so its neighbours are known.
   */
  #remember(q: Float32Array, cnt: number): void {
    const slot = (this.#ringPos = (this.#ringPos + 1) % RING);
    if (this.#ringUsed < RING) this.#ringUsed++;
    const d = this.dim;
    const rv = this.#ringVec;
    const rb = this.#ringBits;
    let h = 0x811c9dc5;
    for (let j = 0; j < d; j++) {
      rv[slot * d + j] = q[j]!;
      h = Math.imul(h ^ rb[slot * d + j]!, 0x01000193);
    }
    this.#ringQ.set(this.#qq, slot * d);
    this.#ringHash[slot] = h;
    this.#ringN[slot] = this.#graphN;
    const c = Math.min(cnt, this.#ringCap);
    this.#ringCnt[slot] = c;
    this.#ringI.set(this.#sortI.subarray(0, c), slot * this.#ringCap);
    this.#ringD.set(this.#sortD.subarray(0, c), slot * this.#ringCap);
    this.#ringWorst[slot] = this.#sortD[cnt - 1]!;
  }

  /** Seeds the layer-0 search from the previous search's results when q lies within their ball; false when it does not apply. */
  #warmStart(q: Int8Array, ef: number): boolean {
    if (this.#ringUsed === 0) return false;
    const slot = this.#ringPos;
    const from = this.#ringN[slot]!;
    if (this.#graphN - from > MAX_NEW) return false;
    const d = this.dim;
    if (qdist(q, 0, this.#ringQ, slot * d, d) > this.#ringWorst[slot]!) return false;
    const qi = this.#qi;
    const w = this.#w;
    const cw = this.#cw;
    const base = slot * this.#ringCap;
    const cnt = this.#ringCnt[slot]!;
    for (let j = 0; j < cnt; j++) {
      const e = this.#ringI[base + j]!;
      this.#seedNode(e, qdistQ(qi, 0, w, e * cw, cw), Infinity, ef);
    }
    // and what was inserted since (the nearest new memories are often the newest)
    for (let e = from; e < this.#graphN; e++) this.#seedNode(e, qdistQ(qi, 0, w, e * cw, cw), Infinity, ef);
    this.warmStarts++;
    return true;
  }

  /** Exact k nearest with resolvedAt ≤ asOf (brute force): the reference for measuring recall. */
  searchExact(q: Float32Array, asOf: number, out: TopK): void {
    out.size = 0;
    if (this.#n === 0) return;
    this.#exact(q, asOf, asOf >= this.#maxRa, out);
  }

  #exact(q: Float32Array, asOf: number, all: boolean, out: TopK): void {
    out.size = 0;
    const d = this.dim;
    const v = this.#vecs;
    const ra = this.#ra;
    // a monotone index matches a prefix: scan only that
    const end = all ? this.#n : this.#monotone ? this.matching(asOf) : this.#n;
    const check = !all && !this.#monotone;
    for (let id = 0; id < end; id++) {
      if (check && ra[id]! > asOf) continue;
      // a partial sum past the bound rejects the vector already (the terms are not negative, so the sum only grows)
      const s = dist2Within(q, 0, v, id * d, d, out.bound);
      if (s <= out.bound && out.accepts(id, s)) out.offer(id, s);
    }
  }

  /** a node's unvisited links (#expand) */
  readonly #nb = new Int32Array(130);
  /** where the touching loads' values go, so that the compiler cannot drop them as unused */
  // eslint-disable-next-line no-unused-private-class-members -- written only, on purpose (see above)
  #touch = 0;

  /** set by #greedy: the distance of the node it returns */
  #lastD = 0;

  /** greedy descent on one upper layer from ep: the nearest node reachable by always improving */
  #greedy(ep: number, epD: number, layer: number): number {
    const v = this.#qv;
    const qi = this.#qi;
    const w = this.#w;
    const cw = this.#cw;
    const qs = this.#qs;
    const q0 = this.#q0;
    const up = this.#upper;
    const stride = this.#m + 1;
    let changed = true;
    while (changed) {
      changed = false;
      const base = this.#upperOff[ep]! + (layer - 1) * stride;
      const cnt = up[base]!;
      let touch = 0;
      for (let j = 1; j <= cnt; j++) touch ^= v[up[base + j]! * qs + q0]!;
      this.#touch = touch;
      for (let j = 1; j <= cnt; j++) {
        const e = up[base + j]!;
        const s = qdistQ(qi, 0, w, e * cw, cw);
        if (s < epD || (s === epD && e < ep)) {
          epD = s;
          ep = e;
          changed = true;
        }
      }
    }
    this.#lastD = epD;
    return ep;
  }

  /** the code at byte `o` of `a` becomes the query of #greedy / #expand / qdistQ (#qi) */
  #setQuery(a: Int8Array, o: number): void {
    expandCode(a, o, this.#qi, 0, this.dim);
  }

  /** starts a layer search: a new visit stamp, empty heaps */
  #begin(): void {
    let stamp = ++this.#stamp;
    if (stamp === 256) {
      this.#visited.fill(0);
      stamp = this.#stamp = 1;
    }
    this.#cand.n = 0;
    this.#res.n = 0;
  }

  /** a starting node of a layer search (at most once per search: later calls for it are ignored) */
  #seedNode(e: number, s: number, asOf: number, ef: number): void {
    if (this.#visited[e] === this.#stamp) return;
    this.#visited[e] = this.#stamp;
    this.#cand.push(s, e);
    if (this.#ra[e]! <= asOf) {
      this.#res.push(-s, -e);
      if (this.#res.n > ef) this.#res.pop();
    }
  }

  /** a single-seed search of one layer (insertion) */
  #searchLayer(ep: number, epD: number, ef: number, layer: number): void {
    this.#begin();
    this.#seedNode(ep, epD, Infinity, ef);
    this.#expand(ef, layer, Infinity, Infinity);
  }

  /**
   * Best-first search of one layer from the seeds, with a result list of ef; matching nodes
   * (resolvedAt ≤ asOf) are left in #res (worst on top). Returns false when it stopped at maxVisits.
   */
  #expand(ef: number, layer: number, asOf: number, maxVisits: number): boolean {
    const v = this.#qv;
    const qi = this.#qi;
    const w = this.#w;
    const cw = this.#cw;
    const ra = this.#ra;
    const cand = this.#cand;
    const res = this.#res;
    const visited = this.#visited;
    const stamp = this.#stamp;
    const links = layer === 0 ? this.#links0 : this.#upper;
    const stride0 = this.#s0;
    const qs = this.#qs;
    const q0 = this.#q0;
    const upOff = this.#upperOff;
    const upStride = this.#m + 1;
    const nb = this.#nb;
    // a code may straddle two cache lines: both ends are touched
    const qlast = this.dim - 1;
    const unfiltered = asOf === Infinity;
    let visits = cand.n;
    while (cand.n > 0) {
      const cd = cand.d[0]!;
      const c = cand.i[0]!;
      if (res.n >= ef && cd > -res.d[0]!) break;
      cand.pop();
      const base = layer === 0 ? c * stride0 : upOff[c]! + (layer - 1) * upStride;
      const cnt = links[base]!;
      // the likely next candidate's links, touched now: their miss overlaps this one's distances
      let touch = cand.n > 0 && layer === 0 ? links[cand.i[0]! * stride0]! ^ links[cand.i[0]! * stride0 + stride0 - 1]! : 0;
      // two passes: the unvisited links first, touching the first byte of each one's code — loads
      // that do not depend on each other, so the CPU has all the cache misses in flight at once
      // instead of one per distance — then the distances, from cache
      let u = 0;
      for (let j = 1; j <= cnt; j++) {
        const e = links[base + j]!;
        if (visited[e] === stamp) continue;
        visited[e] = stamp;
        nb[u++] = e;
        touch ^= v[e * qs + q0]! ^ v[e * qs + q0 + qlast]!;
      }
      this.#touch = touch;
      for (let j = 0; j < u; j++) {
        const e = nb[j]!;
        // once the list is full, nodes farther than its worst are rejected: stop summing as soon as that is certain
        const full = res.n >= ef;
        const bound = full ? -res.d[0]! : Infinity;
        // qdistQ with an early exit once the sum passes bound, written out here (as a function with the exit the
        // call was not inlined: a fifth of the search's time); the same integer as qdistQ when it completes
        const wo = e * cw;
        let s = 0;
        let k = 0;
        for (; k + 1 < cw; k += 2) {
          const x = w[wo + k]!;
          const y = w[wo + k + 1]!;
          const p = k * 4;
          const x0 = qi[p]! - ((x << 24) >> 24);
          const x1 = qi[p + 1]! - ((x << 16) >> 24);
          const x2 = qi[p + 2]! - ((x << 8) >> 24);
          const x3 = qi[p + 3]! - (x >> 24);
          const x4 = qi[p + 4]! - ((y << 24) >> 24);
          const x5 = qi[p + 5]! - ((y << 16) >> 24);
          const x6 = qi[p + 6]! - ((y << 8) >> 24);
          const x7 = qi[p + 7]! - (y >> 24);
          s = (s + x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3 + x4 * x4 + x5 * x5 + x6 * x6 + x7 * x7) | 0;
          if (s > bound) break;
        }
        if (k + 1 === cw && !(s > bound)) {
          const x = w[wo + k]!;
          const p = k * 4;
          const x0 = qi[p]! - ((x << 24) >> 24);
          const x1 = qi[p + 1]! - ((x << 16) >> 24);
          const x2 = qi[p + 2]! - ((x << 8) >> 24);
          const x3 = qi[p + 3]! - (x >> 24);
          s = (s + x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3) | 0;
        }
        if (!full || s < bound || (s === bound && e < -res.i[0]!)) {
          cand.push(s, e);
          // (an unfiltered search does not read resolvedAt: one cache miss less per node)
          if (unfiltered || ra[e]! <= asOf) {
            res.push(-s, -e);
            if (res.n > ef) res.pop();
          }
        }
      }
      visits += cnt;
      if (visits > maxVisits) return false;
    }
    return true;
  }

  /** empties #res into #sortI/#sortD, ascending; returns the count */
  #drain(): number {
    const res = this.#res;
    const n = res.n;
    if (this.#sortD.length < n) {
      this.#sortD = new Float64Array(n * 2);
      this.#sortI = new Int32Array(n * 2);
    }
    const sd = this.#sortD;
    const si = this.#sortI;
    for (let p = n - 1; p >= 0; p--) {
      sd[p] = -res.d[0]!;
      si[p] = -res.i[0]!;
      res.pop();
    }
    return n;
  }

  #drawLevel(id: number): number {
    // splitmix32 of (seed, id): a uniform in (0, 1) per node, the same on every run
    let z = (id + Math.imul(this.#seed, 0x9e3779b9)) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z = (z ^ (z >>> 15)) >>> 0;
    const u = (z + 0.5) / 4294967296;
    return Math.min(Math.floor(-Math.log(u) * this.#mL), 15);
  }

  #insert(x: number): void {
    const v = this.#qv;
    const qs = this.#qs;
    const xo = x * qs + this.#q0;
    const L = this.#drawLevel(x);
    if (L > 0) {
      const need = this.#upperLen + L * (this.#m + 1);
      if (need > this.#upper.length) {
        const cap = Math.max(need, this.#upper.length * 2);
        const up = new Int32Array(cap);
        up.set(this.#upper);
        this.#upper = up;
        const ud = new Float32Array(cap);
        ud.set(this.#upperDist);
        this.#upperDist = ud;
      }
      this.#upperOff[x] = this.#upperLen;
      this.#upperLen = need; // the blocks are zero: no links yet
    }
    this.#links0[x * this.#s0] = 0;
    this.#graphN = x + 1;
    if (this.#entry < 0) {
      this.#entry = x;
      this.#maxLevel = L;
      return;
    }
    if (L === 0 && this.#hinted(x)) {
      this.hintedInserts++;
      return;
    }
    this.#setQuery(v, xo);
    let ep = this.#entry;
    let epD = qdistQ(this.#qi, 0, this.#w, ep * this.#cw, this.#cw);
    for (let l = this.#maxLevel; l > L; l--) {
      ep = this.#greedy(ep, epD, l);
      epD = this.#lastD;
    }
    for (let l = Math.min(L, this.#maxLevel); l >= 0; l--) {
      this.#searchLayer(ep, epD, this.#efC, l);
      const cnt = this.#drain();
      ep = this.#sortI[0]!;
      epD = this.#sortD[0]!;
      this.#connect(x, l, cnt);
    }
    if (L > this.#maxLevel) {
      this.#entry = x;
      this.#maxLevel = L;
    }
  }

  /**
   * Layer-0 insertion from a remembered search of the same vector (see #remember): its results,
   * plus every node inserted since, are the candidates. False when no remembered search applies.
   */
  #hinted(x: number): boolean {
    const d = this.dim;
    const xo = x * d;
    const bits = this.#vecBits;
    let h = 0x811c9dc5;
    for (let j = 0; j < d; j++) h = Math.imul(h ^ bits[xo + j]!, 0x01000193);
    const rb = this.#ringBits;
    let slot = -1;
    // newest first
    for (let t = 0; t < this.#ringUsed && slot < 0; t++) {
      const sl = (this.#ringPos - t + RING) % RING;
      if (this.#ringHash[sl] !== h || x - this.#ringN[sl]! > MAX_NEW) continue;
      let same = true;
      for (let j = 0; j < d && same; j++) same = rb[sl * d + j] === bits[xo + j];
      if (same) slot = sl;
    }
    if (slot < 0) return false;
    const v = this.#qv;
    const qs = this.#qs;
    const q0 = this.#q0;
    const xq = x * qs + q0;
    const cnt = this.#ringCnt[slot]!;
    const from = this.#ringN[slot]!;
    const total = cnt + (x - from);
    if (this.#sortD.length < total) {
      this.#sortD = new Float64Array(total * 2);
      this.#sortI = new Int32Array(total * 2);
    }
    const sd = this.#sortD;
    const si = this.#sortI;
    // the remembered results are sorted already (same bits, so the same distances from x); the new
    // nodes go in by insertion, ties by id
    const base = slot * this.#ringCap;
    for (let j = 0; j < cnt; j++) {
      si[j] = this.#ringI[base + j]!;
      sd[j] = this.#ringD[base + j]!;
    }
    let k = cnt;
    this.#setQuery(v, xq);
    const qi = this.#qi;
    const w = this.#w;
    const cw = this.#cw;
    for (let e = from; e < x; e++) {
      const dd = qdistQ(qi, 0, w, e * cw, cw);
      let p = k++;
      while (p > 0 && (sd[p - 1]! > dd || (sd[p - 1]! === dd && si[p - 1]! > e))) {
        sd[p] = sd[p - 1]!;
        si[p] = si[p - 1]!;
        p--;
      }
      sd[p] = dd;
      si[p] = e;
    }
    if (k === 0) return false;
    this.#connect(x, 0, k);
    return true;
  }

  /** links x at layer l to the heuristic's choice among the candidates in #sortI/#sortD (count cnt), and back */
  #connect(x: number, l: number, cnt: number): void {
    {
      const sel = this.#select(this.#sortI, this.#sortD, cnt, this.#m);
      // this node's links at l
      const links = l === 0 ? this.#links0 : this.#upper;
      const dists = l === 0 ? this.#dist0 : this.#upperDist;
      const base = l === 0 ? x * this.#s0 : this.#upperOff[x]! + (l - 1) * (this.#m + 1);
      links[base] = sel;
      for (let j = 0; j < sel; j++) {
        links[base + 1 + j] = this.#selI[j]!;
        dists[base + 1 + j] = this.#selD[j]!;
      }
      // and the links back (copied first: #link's re-selection reuses the scratch)
      const back = this.#backI;
      const backD = this.#backD;
      back.set(this.#selI.subarray(0, sel));
      backD.set(this.#selD.subarray(0, sel));
      // the link lists about to be read, touched first (see #expand)
      if (l === 0) {
        const s0 = this.#s0;
        let touch = 0;
        for (let j = 0; j < sel; j++) touch ^= links[back[j]! * s0]! ^ dists[back[j]! * s0 + 1]!;
        this.#touch = touch;
      }
      for (let j = 0; j < sel; j++) this.#link(back[j]!, x, backD[j]!, l);
    }
  }

  /**
   * The neighbour-selection heuristic (the paper's algorithm 4): walking the candidates nearest
   * first, keep one only if it is nearer the base than to every one kept so far, up to max. This
   * keeps links in different directions (on a time series of features, not only the previous and
   * next bars), which is what makes the graph navigable. Candidates must be sorted ascending.
   * Writes #selI/#selD; returns the count.
   */
  #select(ci: Int32Array, cd: Float64Array, cn: number, max: number): number {
    const v = this.#qv;
    const w = this.#w;
    const cw = this.#cw;
    const q4 = cw * 4;
    if (this.#selI.length < max) {
      this.#selI = new Int32Array(max);
      this.#selD = new Float64Array(max);
      this.#selQ = new Int32Array(max * q4);
    }
    const selI = this.#selI;
    const selD = this.#selD;
    const selQ = this.#selQ;
    let sel = 0;
    // every candidate is considered: stopping at the nearest 2·m saved a third of the insert's
    // distances but cost recall on clustered data (0.93 instead of 0.98 at 50k, efSearch 32)
    for (let i = 0; i < cn && sel < max; i++) {
      const c = ci[i]!;
      const dc = cd[i]!;
      const co = c * cw;
      let good = true;
      // (the distance from c to a kept node: its squared distance only matters while below dc)
      for (let j = 0; j < sel && good; j++) {
        // qdistQ(selQ, j·q4, w, co, cw) < dc with an early exit at dc, written out (as a call it was not inlined)
        let s = 0;
        let k = 0;
        const qo = j * q4;
        for (; k + 1 < cw; k += 2) {
          const x = w[co + k]!;
          const y = w[co + k + 1]!;
          const p = qo + k * 4;
          const x0 = selQ[p]! - ((x << 24) >> 24);
          const x1 = selQ[p + 1]! - ((x << 16) >> 24);
          const x2 = selQ[p + 2]! - ((x << 8) >> 24);
          const x3 = selQ[p + 3]! - (x >> 24);
          const x4 = selQ[p + 4]! - ((y << 24) >> 24);
          const x5 = selQ[p + 5]! - ((y << 16) >> 24);
          const x6 = selQ[p + 6]! - ((y << 8) >> 24);
          const x7 = selQ[p + 7]! - (y >> 24);
          s = (s + x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3 + x4 * x4 + x5 * x5 + x6 * x6 + x7 * x7) | 0;
          if (s >= dc) break;
        }
        if (k + 1 === cw && s < dc) {
          const x = w[co + k]!;
          const p = qo + k * 4;
          const x0 = selQ[p]! - ((x << 24) >> 24);
          const x1 = selQ[p + 1]! - ((x << 16) >> 24);
          const x2 = selQ[p + 2]! - ((x << 8) >> 24);
          const x3 = selQ[p + 3]! - (x >> 24);
          s = (s + x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3) | 0;
        }
        if (s < dc) good = false;
      }
      if (good) {
        selI[sel] = c;
        selD[sel] = dc;
        expandCode(v, c * this.#qs + this.#q0, selQ, sel * q4, q4);
        sel++;
      }
    }
    return sel;
  }

  /**
   * A link n → x at layer l. A full list is re-selected with the heuristic over its links and x, as
   * in hnswlib: the stored distances order them (nothing computed for that), the heuristic then
   * costs up to a few distances per candidate. Keeping the nearest instead (no distances at all) was
   * measured: equal recall on feature data, but 0.37 instead of ≥ 0.95 on well-separated clusters —
   * it drops the few long links between clusters, which the heuristic keeps.
   */
  #link(n: number, x: number, dx: number, l: number): void {
    const links = l === 0 ? this.#links0 : this.#upper;
    const dists = l === 0 ? this.#dist0 : this.#upperDist;
    const max = l === 0 ? this.#m0 : this.#m;
    const base = l === 0 ? n * this.#s0 : this.#upperOff[n]! + (l - 1) * (this.#m + 1);
    const cnt = links[base]!;
    if (cnt < max) {
      links[base + 1 + cnt] = x;
      dists[base + 1 + cnt] = dx;
      links[base] = cnt + 1;
      return;
    }
    // the current links and x, sorted by distance to n, ties by id
    const sd = this.#linkD;
    const si = this.#linkI;
    for (let k = 0; k <= cnt; k++) {
      const id = k < cnt ? links[base + 1 + k]! : x;
      const dd = k < cnt ? dists[base + 1 + k]! : dx;
      let p = k;
      while (p > 0 && (sd[p - 1]! > dd || (sd[p - 1]! === dd && si[p - 1]! > id))) {
        sd[p] = sd[p - 1]!;
        si[p] = si[p - 1]!;
        p--;
      }
      sd[p] = dd;
      si[p] = id;
    }
    // their codes are not in cache (a neighbour's neighbours): touch them all first, misses in parallel
    const v = this.#qv;
    let touch = 0;
    for (let k = 0; k <= cnt; k++) touch ^= v[si[k]! * this.#qs + this.#q0]!;
    this.#touch = touch;
    const sel = this.#select(si, sd, cnt + 1, max);
    links[base] = sel;
    for (let j = 0; j < sel; j++) {
      links[base + 1 + j] = this.#selI[j]!;
      dists[base + 1 + j] = this.#selD[j]!;
    }
  }

  /**
   * Makes room for `n` vectors at once (one allocation instead of doublings on the way, and no more
   * than n: a caller that knows how many memories a series will get, e.g. a backtest, saves the
   * copies and up to half the index's memory).
   */
  reserve(n: number): void {
    if (Number.isInteger(n) && n > this.#cap) this.#grow(n);
  }

  #grow(to = this.#cap * 2): void {
    const cap = to;
    const d = this.dim;
    const s0 = this.#s0;
    this.#vecs = grown(this.#vecs, cap * d);
    this.#vecBits = new Int32Array(this.#vecs.buffer);
    this.#ra = grown(this.#ra, cap);
    this.#links0 = grown(this.#links0, cap * s0);
    this.#w = grown(this.#w, cap * this.#cw);
    this.#qv = new Int8Array(this.#w.buffer);
    this.#dist0 = grown(this.#dist0, cap * s0);
    this.#upperOff = grown(this.#upperOff, cap);
    this.#visited = grown(this.#visited, cap);
    this.#cap = cap;
  }
}

function grown<T extends Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | Int8Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/**
 * Σ (a[ao+j] − b[bo+j])² over j < d, summed in index order (float32 values, double arithmetic).
 * Unrolled by 8 when d allows (the feature vectors are 32-d): the same additions in the same order,
 * so the same bits as the plain loop, in about half the time.
 */
export function dist2(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  if ((d & 7) === 0) return dist2Within(a, ao, b, bo, d, Number.POSITIVE_INFINITY);
  let s = 0;
  for (let j = 0; j < d; j++) {
    const x = a[ao + j]! - b[bo + j]!;
    s += x * x;
  }
  return s;
}

/** dist2, but it may stop once the partial sum exceeds `bound` (then it returns that partial sum, > bound); the full sum has the same bits as dist2's */
export function dist2Within(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number, bound: number): number {
  if ((d & 7) !== 0) return dist2(a, ao, b, bo, d);
  let s = 0;
  for (let j = 0; j < d; j += 8) {
    const p = ao + j;
    const r = bo + j;
    let x = a[p]! - b[r]!;
    s += x * x;
    x = a[p + 1]! - b[r + 1]!;
    s += x * x;
    x = a[p + 2]! - b[r + 2]!;
    s += x * x;
    x = a[p + 3]! - b[r + 3]!;
    s += x * x;
    x = a[p + 4]! - b[r + 4]!;
    s += x * x;
    x = a[p + 5]! - b[r + 5]!;
    s += x * x;
    x = a[p + 6]! - b[r + 6]!;
    s += x * x;
    x = a[p + 7]! - b[r + 7]!;
    s += x * x;
    if (s > bound) return s;
  }
  return s;
}

/** round(x · scale) clamped to ±127, for d values from a[ao] into b[bo] */
export function quantize(a: ArrayLike<number>, ao: number, b: Int8Array, bo: number, d: number, scale: number): void {
  for (let j = 0; j < d; j++) {
    const x = Math.round(a[ao + j]! * scale);
    b[bo + j] = x > 127 ? 127 : x < -127 ? -127 : x;
  }
}

/**
 * The squared distance between two int8 vectors, an integer (exact: at most 32 · 254² for 32-d, far
 * below 2³¹), so the graph's comparisons are exact and deterministic. Unrolled by 8 when d allows.
 */
export function qdist(a: Int8Array, ao: number, b: Int8Array, bo: number, d: number): number {
  let s = 0;
  if ((d & 7) === 0) {
    for (let j = 0; j < d; j += 8) {
      const p = ao + j;
      const r = bo + j;
      const x0 = a[p]! - b[r]!;
      const x1 = a[p + 1]! - b[r + 1]!;
      const x2 = a[p + 2]! - b[r + 2]!;
      const x3 = a[p + 3]! - b[r + 3]!;
      const x4 = a[p + 4]! - b[r + 4]!;
      const x5 = a[p + 5]! - b[r + 5]!;
      const x6 = a[p + 6]! - b[r + 6]!;
      const x7 = a[p + 7]! - b[r + 7]!;
      s = (s + x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3 + x4 * x4 + x5 * x5 + x6 * x6 + x7 * x7) | 0;
    }
    return s;
  }
  for (let j = 0; j < d; j++) {
    const x = a[ao + j]! - b[bo + j]!;
    s = (s + x * x) | 0;
  }
  return s;
}

/** d int8 codes from a[ao] into b[bo] as int32 (b's slots past d up to bo + n stay zero) */
function expandCode(a: Int8Array, ao: number, b: Int32Array, bo: number, n: number): void {
  for (let j = 0; j < n; j++) b[bo + j] = a[ao + j]!;
}

/**
 * qdist between a query expanded to one int32 per dimension (q, zero-padded to 4·cw) and a code read
 * as cw little-endian int32 words from w[wo] (4 int8 codes each, the padding bytes zero): a quarter of
 * the loads on the node's side, where the cache misses are. The same integer as qdist.
 */
export function qdistQ(q: Int32Array, qo: number, w: Int32Array, wo: number, cw: number): number {
  let s = 0;
  let j = 0;
  for (; j + 1 < cw; j += 2) {
    const x = w[wo + j]!;
    const y = w[wo + j + 1]!;
    const p = qo + j * 4;
    const a = q[p]! - ((x << 24) >> 24);
    const b = q[p + 1]! - ((x << 16) >> 24);
    const c = q[p + 2]! - ((x << 8) >> 24);
    const e = q[p + 3]! - (x >> 24);
    const f = q[p + 4]! - ((y << 24) >> 24);
    const g = q[p + 5]! - ((y << 16) >> 24);
    const h = q[p + 6]! - ((y << 8) >> 24);
    const k = q[p + 7]! - (y >> 24);
    s = (s + a * a + b * b + c * c + e * e + f * f + g * g + h * h + k * k) | 0;
  }
  if (j < cw) {
    const x = w[wo + j]!;
    const p = qo + j * 4;
    const a = q[p]! - ((x << 24) >> 24);
    const b = q[p + 1]! - ((x << 16) >> 24);
    const c = q[p + 2]! - ((x << 8) >> 24);
    const e = q[p + 3]! - (x >> 24);
    s = (s + a * a + b * b + c * c + e * e) | 0;
  }
  return s;
}
