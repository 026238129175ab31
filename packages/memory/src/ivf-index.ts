/**
 * An in-memory IVF (inverted file) index for the backtest's memory: vectors are grouped into
 * lists by their nearest coarse centroid; a query scans only the lists of its nearest
 * centroids. Everything is deterministic: centroids come from Lloyd's k-means with evenly
 * spaced initial points on an evenly spaced sample, so the same inserts give the same index.
 *
 * Until `trainAt` vectors exist the index is one flat list (exact search). At `trainAt` it
 * trains `nlist` centroids; it retrains once more at `retrainAt` with `nlistLarge` centroids
 * (a larger index needs more lists). Each (re)training costs O(sample·nlist·dim·iterations),
 * measured in docs/memory.md: a one-off pause, measured in bench/memory.bench.ts.
 *
 * Entries carry a filter payload (resolvedAt, series) so the search can skip memories that
 * are not yet resolved at asOf or belong to another symbol, and keep probing further lists
 * until k matching neighbours are found (like pgvector's iterative scans).
 */
export interface IvfOptions {
  /** flat (exact) until this many vectors (default 4,096), then nlist (default 64) lists */
  readonly trainAt?: number;
  readonly nlist?: number;
  /** retrain with nlistLarge (default 1,024) lists at this many vectors (default 32,768; Infinity: never) */
  readonly retrainAt?: number;
  readonly nlistLarge?: number;
  /** lists to probe at least (default 4); more while fewer than k matches were found */
  readonly nprobe?: number;
  /** at most this many training vectors (default 8,192), evenly spaced over what exists */
  readonly maxTrain?: number;
  readonly iterations?: number;
}

const DEFAULTS = { trainAt: 4096, nlist: 64, retrainAt: 32_768, nlistLarge: 1024, nprobe: 4, maxTrain: 8192, iterations: 5 } as const;

class Posting {
  vecs: Float32Array;
  ids: Int32Array;
  ra: Float64Array;
  series: Int32Array;
  length = 0;
  readonly #dim: number;

  constructor(dim: number, capacity = 16) {
    this.#dim = dim;
    this.vecs = new Float32Array(capacity * dim);
    this.ids = new Int32Array(capacity);
    this.ra = new Float64Array(capacity);
    this.series = new Int32Array(capacity);
  }

  push(vec: Float32Array, off: number, id: number, resolvedAt: number, series: number): void {
    if (this.length === this.ids.length) this.#grow();
    const d = this.#dim;
    this.vecs.set(vec.subarray(off, off + d), this.length * d);
    this.ids[this.length] = id;
    this.ra[this.length] = resolvedAt;
    this.series[this.length] = series;
    this.length++;
  }

  #grow(): void {
    const cap = this.ids.length * 2;
    const v = new Float32Array(cap * this.#dim);
    v.set(this.vecs);
    this.vecs = v;
    const ids = new Int32Array(cap);
    ids.set(this.ids);
    this.ids = ids;
    const ra = new Float64Array(cap);
    ra.set(this.ra);
    this.ra = ra;
    const s = new Int32Array(cap);
    s.set(this.series);
    this.series = s;
  }
}

/** The k best (smallest distance) found so far, sorted ascending; ties keep the smaller id. */
export class TopK {
  readonly ids: Int32Array;
  readonly dist: Float64Array;
  size = 0;
  constructor(readonly k: number) {
    this.ids = new Int32Array(k);
    this.dist = new Float64Array(k);
  }
  /** squared distance a candidate must beat to enter */
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

export interface IvfQuery {
  readonly asOf: number;
  /** −1: any series */
  readonly series: number;
}

export class IvfIndex {
  readonly dim: number;
  readonly #o: Required<IvfOptions>;
  /** every vector, in insertion order (ids are positions here), for retraining */
  #all: Float32Array;
  #allRa: Float64Array;
  #allSeries: Int32Array;
  #n = 0;
  #centroids: Float32Array | null = null;
  #nlist = 1;
  #lists: Posting[];
  #cdist = new Float64Array(1);
  #probe = new Int32Array(1);
  /** how many times the index was (re)trained, and the total time spent */
  trainings = 0;
  trainMs = 0;

  constructor(dim: number, options: IvfOptions = {}) {
    this.dim = dim;
    this.#o = { ...DEFAULTS, ...options };
    this.#all = new Float32Array(1024 * dim);
    this.#allRa = new Float64Array(1024);
    this.#allSeries = new Int32Array(1024);
    this.#lists = [new Posting(dim, 1024)];
  }

  get size(): number {
    return this.#n;
  }

  get lists(): number {
    return this.#nlist;
  }

  /** Add a vector; returns its id (its insertion position). */
  add(vec: Float32Array, resolvedAt: number, series: number): number {
    const id = this.#n;
    const d = this.dim;
    if (id === this.#allRa.length) {
      const cap = id * 2;
      const all = new Float32Array(cap * d);
      all.set(this.#all);
      this.#all = all;
      const ra = new Float64Array(cap);
      ra.set(this.#allRa);
      this.#allRa = ra;
      const s = new Int32Array(cap);
      s.set(this.#allSeries);
      this.#allSeries = s;
    }
    this.#all.set(vec, id * d);
    this.#allRa[id] = resolvedAt;
    this.#allSeries[id] = series;
    this.#n = id + 1;
    const o = this.#o;
    if (this.#n === o.trainAt || this.#n === o.retrainAt) this.#train(this.#n === o.trainAt ? o.nlist : o.nlistLarge);
    else this.#lists[this.#nearestList(vec, 0)]!.push(vec, 0, id, resolvedAt, series);
    return id;
  }

  /** k nearest ids by Euclidean distance among entries matching the query filter. Fills `out`. */
  search(q: Float32Array, filter: IvfQuery, out: TopK): void {
    const nlist = this.#nlist;
    if (nlist === 1) {
      this.#scan(this.#lists[0]!, q, filter, out);
      return;
    }
    // the nprobe nearest lists by partial selection (a full sort of every centroid would cost
    // more than the scan); only when they hold fewer than k matches are the rest ordered and probed
    const dist = this.#centroidDistances(q);
    const nprobe = Math.min(this.#o.nprobe, nlist);
    const best = this.#probe;
    let nb = 0;
    for (let l = 0; l < nlist; l++) {
      const dl = dist[l]!;
      if (nb === nprobe && dl >= dist[best[nb - 1]!]!) continue;
      let i = nb < nprobe ? nb++ : nb - 1;
      while (i > 0 && dist[best[i - 1]!]! > dl) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = l;
    }
    let matched = 0;
    for (let p = 0; p < nb; p++) matched += this.#scan(this.#lists[best[p]!]!, q, filter, out);
    if (matched >= out.k) return;
    const order = new Int32Array(nlist);
    for (let l = 0; l < nlist; l++) order[l] = l;
    order.sort((a, b) => dist[a]! - dist[b]! || a - b);
    for (let p = nb; p < nlist && matched < out.k; p++) matched += this.#scan(this.#lists[order[p]!]!, q, filter, out);
  }

  /** exact k nearest (brute force over every entry): the reference for measuring recall */
  searchExact(q: Float32Array, filter: IvfQuery, out: TopK): void {
    const d = this.dim;
    const all = this.#all;
    for (let id = 0; id < this.#n; id++) {
      if (this.#allRa[id]! > filter.asOf || (filter.series >= 0 && this.#allSeries[id] !== filter.series)) continue;
      const bound = out.bound;
      let s = 0;
      const off = id * d;
      for (let j = 0; j < d; j++) {
        const x = all[off + j]! - q[j]!;
        s += x * x;
      }
      if (s <= bound && out.accepts(id, s)) out.offer(id, s);
    }
  }

  /** Returns how many entries matched the filter. */
  #scan(list: Posting, q: Float32Array, filter: IvfQuery, out: TopK): number {
    const d = this.dim;
    const { vecs, ids, ra, series } = list;
    const n = list.length;
    const asOf = filter.asOf;
    const want = filter.series;
    const unrolled = (d & 7) === 0;
    let matched = 0;
    for (let i = 0; i < n; i++) {
      if (ra[i]! > asOf || (want >= 0 && series[i] !== want)) continue;
      matched++;
      const bound = out.bound;
      const off = i * d;
      let s = 0;
      // partial distance: stop as soon as this entry cannot enter the top k (checked every 8 dims)
      let j = 0;
      if (unrolled) {
        // the same sum in the same order, 8 terms per step: about twice as fast in V8 (fewer loop and
        // bounds checks), and bit-identical to the loop below
        for (let o = off; j < d; j += 8, o += 8) {
          let x = vecs[o]! - q[j]!;
          s += x * x;
          x = vecs[o + 1]! - q[j + 1]!;
          s += x * x;
          x = vecs[o + 2]! - q[j + 2]!;
          s += x * x;
          x = vecs[o + 3]! - q[j + 3]!;
          s += x * x;
          x = vecs[o + 4]! - q[j + 4]!;
          s += x * x;
          x = vecs[o + 5]! - q[j + 5]!;
          s += x * x;
          x = vecs[o + 6]! - q[j + 6]!;
          s += x * x;
          x = vecs[o + 7]! - q[j + 7]!;
          s += x * x;
          if (s > bound) break;
        }
      } else {
        for (; j < d; j += 8) {
          const end = j + 8 < d ? j + 8 : d;
          for (let t = j; t < end; t++) {
            const x = vecs[off + t]! - q[t]!;
            s += x * x;
          }
          if (s > bound) break;
        }
      }
      if (j >= d && s <= bound) {
        const id = ids[i]!;
        if (out.accepts(id, s)) out.offer(id, s);
      }
    }
    return matched;
  }

  #nearestList(v: Float32Array, off: number): number {
    const c = this.#centroids;
    if (c === null) return 0;
    const d = this.dim;
    let best = 0;
    let bestD = Infinity;
    for (let l = 0; l < this.#nlist; l++) {
      const s = squaredDistance(c, l * d, v, off, d);
      if (s < bestD) {
        bestD = s;
        best = l;
      }
    }
    return best;
  }

  #centroidDistances(q: Float32Array): Float64Array {
    const c = this.#centroids!;
    const d = this.dim;
    const nlist = this.#nlist;
    const dist = this.#cdist;
    for (let l = 0; l < nlist; l++) dist[l] = squaredDistance(c, l * d, q, 0, d);
    return dist;
  }

  #train(nlist: number): void {
    const t0 = performance.now();
    const d = this.dim;
    const n = this.#n;
    const all = this.#all;
    // evenly spaced training sample, evenly spaced initial centroids: deterministic
    const m = Math.min(n, this.#o.maxTrain);
    const sample = new Float32Array(m * d);
    for (let i = 0; i < m; i++) sample.set(all.subarray(Math.floor((i * n) / m) * d, Math.floor((i * n) / m) * d + d), i * d);
    const k = Math.min(nlist, m);
    const c = new Float32Array(k * d);
    for (let l = 0; l < k; l++) c.set(sample.subarray(Math.floor((l * m) / k) * d, Math.floor((l * m) / k) * d + d), l * d);
    this.#centroids = c;
    this.#nlist = k;
    this.#cdist = new Float64Array(k);
    this.#probe = new Int32Array(Math.max(1, Math.min(this.#o.nprobe, k)));
    const assign = new Int32Array(m);
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    for (let it = 0; it < this.#o.iterations; it++) {
      for (let i = 0; i < m; i++) assign[i] = this.#nearestList(sample, i * d);
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < m; i++) {
        const l = assign[i]!;
        counts[l]!++;
        for (let j = 0; j < d; j++) sums[l * d + j]! += sample[i * d + j]!;
      }
      // an empty list keeps its previous centroid
      for (let l = 0; l < k; l++) if (counts[l]! > 0) for (let j = 0; j < d; j++) c[l * d + j] = sums[l * d + j]! / counts[l]!;
    }
    const lists: Posting[] = [];
    for (let l = 0; l < k; l++) lists.push(new Posting(d, Math.max(16, Math.ceil((2 * n) / k))));
    for (let id = 0; id < n; id++) lists[this.#nearestList(all, id * d)]!.push(all, id * d, id, this.#allRa[id]!, this.#allSeries[id]!);
    this.#lists = lists;
    this.trainings++;
    this.trainMs += performance.now() - t0;
  }
}

/**
 * Σ (a[ao+j] − b[bo+j])² over j < d, summed in index order. Unrolled by 8 when d allows (the feature vectors
 * are 32-d): the same additions in the same order, so the same bits, at about half the time of the plain loop.
 */
function squaredDistance(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  if ((d & 7) === 0) {
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
    }
    return s;
  }
  for (let j = 0; j < d; j++) {
    const x = a[ao + j]! - b[bo + j]!;
    s += x * x;
  }
  return s;
}
