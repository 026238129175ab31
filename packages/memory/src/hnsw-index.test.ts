import { SeededRandom } from '@meridian/market';
import { describe, expect, it } from 'vitest';
import { HnswIndex, TopK, dist2, dist2Within, qdist, qdistQ } from './hnsw-index.ts';

const DIM = 32;

/**
 * n vectors around `clusters` centres (spread 0.15 per dimension), the shape of feature data; the
 * centres come from `centreSeed`, so data and queries can share them. clusters 0: uniform in [−1, 1].
 */
function vectors(n: number, seed: number, clusters: number, centreSeed = 100): Float32Array[] {
  const cr = new SeededRandom(centreSeed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: DIM }, () => cr.uniform() * 2 - 1));
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => {
    if (clusters === 0) return Float32Array.from({ length: DIM }, () => rng.uniform() * 2 - 1);
    const c = centres[Math.floor(rng.uniform() * clusters)]!;
    return Float32Array.from(c, (x) => x + rng.normal() * 0.15);
  });
}

function ids(t: TopK, n = t.size): number[] {
  return Array.from(t.ids.subarray(0, Math.min(n, t.size)));
}

function recallAt10(index: HnswIndex, queries: Float32Array[], asOf: number, k = 10): number {
  const a = new TopK(k);
  const e = new TopK(k);
  let hits = 0;
  let total = 0;
  for (const q of queries) {
    index.search(q, asOf, a);
    index.searchExact(q, asOf, e);
    const want = new Set(ids(e, 10));
    total += want.size;
    hits += ids(a, 10).filter((i) => want.has(i)).length;
  }
  return hits / total;
}

describe('HnswIndex', () => {
  it('recall@10 ≥ 0.95 against exact search on 50,000 clustered vectors (k 10 and k 20)', () => {
    const index = new HnswIndex(DIM);
    for (const v of vectors(50_000, 1, 200)) index.add(v, 1);
    const queries = vectors(200, 2, 200);
    expect(index.graphSize).toBe(50_000);
    expect(recallAt10(index, queries, 1)).toBeGreaterThanOrEqual(0.95);
    expect(recallAt10(index, queries, 1, 20)).toBeGreaterThanOrEqual(0.95);
    expect(index.paths.hnsw).toBe(400);
  });

  it('returns exact float32 distances, ascending: the int8 walk only chooses the candidates, the answer is re-ranked exactly', () => {
    const data = vectors(20_000, 15, 100);
    const index = new HnswIndex(DIM);
    for (const v of data) index.add(v, 1);
    const t = new TopK(20);
    const e = new TopK(20);
    let same = 0;
    for (const q of vectors(100, 16, 100)) {
      index.search(q, 1, t);
      expect(t.size).toBe(20);
      for (let i = 0; i < t.size; i++) {
        const v = data[t.ids[i]!]!;
        let s = 0;
        for (let j = 0; j < DIM; j++) s += (q[j]! - v[j]!) ** 2;
        expect(t.dist[i]).toBe(s);
        if (i > 0) expect(t.dist[i]).toBeGreaterThanOrEqual(t.dist[i - 1]!);
      }
      // and where the graph found the true nearest, its distance is bit-identical to the exact search's
      index.searchExact(q, 1, e);
      if (t.ids[0] === e.ids[0]) {
        expect(t.dist[0]).toBe(e.dist[0]);
        same++;
      }
    }
    expect(index.paths.hnsw).toBe(100);
    expect(same).toBeGreaterThanOrEqual(95);
  });

  it('vectors beyond the int8 range (clamped in the graph) are still ranked by their exact distances', () => {
    // values up to ±4: a quarter of them clamp at ±127/64 in the int8 copy
    const data = vectors(8000, 17, 40).map((v) => v.map((x) => x * 2.5));
    const index = new HnswIndex(DIM, { exactBelow: 1000 });
    for (const v of data) index.add(v, 1);
    const t = new TopK(10);
    const e = new TopK(10);
    let hits = 0;
    for (const q of vectors(50, 18, 40).map((v) => v.map((x) => x * 2.5))) {
      index.search(q, 1, t);
      index.searchExact(q, 1, e);
      const want = new Set(ids(e));
      hits += ids(t).filter((i) => want.has(i)).length;
      for (let i = 1; i < t.size; i++) expect(t.dist[i]).toBeGreaterThanOrEqual(t.dist[i - 1]!);
    }
    expect(hits / 500).toBeGreaterThanOrEqual(0.9);
    expect(() => new HnswIndex(DIM, { quantScale: 0 })).toThrow(RangeError);
  });

  it('recall@10 ≥ 0.95 on 20,000 uniform random vectors with efSearch 128 (no structure to exploit: the hard case)', () => {
    const index = new HnswIndex(DIM, { efSearch: 128 });
    for (const v of vectors(20_000, 3, 0)) index.add(v, 1);
    expect(recallAt10(index, vectors(100, 4, 0), 1)).toBeGreaterThanOrEqual(0.95);
  });

  it('is deterministic: the same inserts and searches give the same answers, bit for bit', () => {
    const data = vectors(6000, 5, 30);
    const queries = vectors(100, 6, 30);
    const run = (): number[][] => {
      const index = new HnswIndex(DIM, { exactBelow: 500 });
      const t = new TopK(20);
      const out: number[][] = [];
      data.forEach((v, i) => {
        index.add(v, i);
        if (i % 60 === 0) {
          index.search(queries[(i / 60) % queries.length]!, i, t);
          out.push([...ids(t), ...t.dist.subarray(0, t.size)]);
        }
      });
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('never returns a vector resolved after asOf, in the graph and in the exact path, with monotone or shuffled resolvedAt', () => {
    for (const shuffled of [false, true]) {
      const rng = new SeededRandom(7);
      const data = vectors(12_000, 7, 50);
      const ra = data.map((_, i) => (shuffled ? Math.floor(rng.uniform() * 12_000) : i));
      const index = new HnswIndex(DIM, { exactBelow: 1000 });
      data.forEach((v, i) => index.add(v, ra[i]!));
      const t = new TopK(20);
      const e = new TopK(20);
      for (const [j, q] of vectors(60, 8, 50).entries()) {
        // 95% visible (the graph answers), 50%, 5% (brute force over the matching ones)
        const asOf = [11_400, 6000, 600][j % 3]!;
        index.search(q, asOf, t);
        index.searchExact(q, asOf, e);
        expect(t.size).toBe(20);
        for (const id of ids(t)) expect(ra[id]!).toBeLessThanOrEqual(asOf);
        if (asOf === 600) expect(ids(t)).toEqual(ids(e));
      }
      expect(index.matching(6000)).toBe(ra.filter((r) => r <= 6000).length);
      expect(index.paths.hnsw).toBeGreaterThan(0);
      expect(index.paths.exact).toBeGreaterThanOrEqual(20);
      expect(recallAt10(index, vectors(60, 9, 50), 11_400)).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('an asOf before every resolvedAt finds nothing; k above what is visible returns all that is visible', () => {
    const index = new HnswIndex(DIM, { exactBelow: 100 });
    vectors(3000, 10, 10).forEach((v, i) => index.add(v, 1000 + i));
    const t = new TopK(50);
    index.search(vectors(1, 11, 10)[0]!, 999, t);
    expect(t.size).toBe(0);
    index.search(vectors(1, 11, 10)[0]!, 1029, t);
    expect(ids(t).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('grows past its initial capacity and answers exactly as an index created large enough', () => {
    const data = vectors(5000, 12, 40);
    const small = new HnswIndex(DIM, { exactBelow: 64 }, 16);
    const large = new HnswIndex(DIM, { exactBelow: 64 }, 8192);
    data.forEach((v, i) => {
      small.add(v, i);
      large.add(v, i);
    });
    expect(small.size).toBe(5000);
    expect(small.capacity).toBeGreaterThanOrEqual(5000);
    const a = new TopK(10);
    const b = new TopK(10);
    let self = 0;
    for (let i = 0; i < data.length; i += 25) {
      small.search(data[i]!, Infinity, a);
      large.search(data[i]!, Infinity, b);
      expect(ids(a)).toEqual(ids(b));
      expect(a.dist).toEqual(b.dist);
      small.searchExact(data[i]!, Infinity, a);
      expect([a.ids[0], a.dist[0]]).toEqual([i, 0]);
      if (ids(b)[0] === i) self++;
    }
    // and the graph finds (nearly) every vector as its own nearest neighbour
    expect(self).toBeGreaterThanOrEqual(196);
  });

  it('reserve(n) allocates once to exactly n (never shrinks), mid-way too, and the answers stay those of an index that grew by doubling', () => {
    const data = vectors(3000, 12, 41);
    const grown = new HnswIndex(DIM, { exactBelow: 64 }, 16);
    const reserved = new HnswIndex(DIM, { exactBelow: 64 }, 16);
    reserved.reserve(2000);
    expect(reserved.capacity).toBe(2000);
    reserved.reserve(100); // smaller than what it holds room for: nothing changes
    expect(reserved.capacity).toBe(2000);
    data.forEach((v, i) => {
      grown.add(v, i);
      reserved.add(v, i);
      if (i === 1500) reserved.reserve(3000); // with vectors and links in it
    });
    expect(reserved.capacity).toBe(3000);
    const a = new TopK(10);
    const b = new TopK(10);
    for (let i = 0; i < data.length; i += 30) {
      grown.search(data[i]!, Infinity, a);
      reserved.search(data[i]!, Infinity, b);
      expect(ids(b)).toEqual(ids(a));
      expect(b.dist).toEqual(a.dist);
    }
  });

  it('with index false it is brute force always', () => {
    const index = new HnswIndex(DIM, false);
    vectors(6000, 13, 20).forEach((v) => index.add(v, 1));
    const t = new TopK(10);
    const e = new TopK(10);
    for (const q of vectors(20, 14, 20)) {
      index.search(q, 1, t);
      index.searchExact(q, 1, e);
      expect(ids(t)).toEqual(ids(e));
    }
    expect(index.graphSize).toBe(0);
    expect(index.paths).toEqual({ exact: 20, hnsw: 0, fallback: 0 });
  });

  it('works in dimensions that are not a multiple of 4 or 8 (the word-wise distances end in a partial word)', () => {
    // 3 and 10: an odd number of words (the last one alone), 13 and 30: a partly padded last word
    for (const dim of [3, 10, 13, 30]) {
      const rng = new SeededRandom(dim);
      const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: dim }, () => rng.uniform() * 2 - 1));
      const data = Array.from({ length: 5000 }, () => Float32Array.from(centres[Math.floor(rng.uniform() * 40)]!, (x) => x + rng.normal() * 0.15));
      const index = new HnswIndex(dim, { exactBelow: 500 });
      data.forEach((v, i) => index.add(v, i));
      const t = new TopK(10);
      const e = new TopK(10);
      let hits = 0;
      for (const q of data.slice(0, 100)) {
        index.search(q, Infinity, t);
        index.searchExact(q, Infinity, e);
        // what the graph returns is re-ranked exactly: its own distances are exact
        for (let j = 0; j < t.size; j++) expect(t.dist[j]).toBe(dist2(q, 0, data[t.ids[j]!]!, 0, dim));
        const want = new Set(ids(e));
        hits += ids(t).filter((i) => want.has(i)).length;
      }
      expect(index.paths.hnsw).toBe(100);
      expect(hits / 1000).toBeGreaterThanOrEqual(0.95);
    }
  });
});

describe('distance kernels', () => {
  it('qdistQ (a query expanded to int32, a code read as int32 words) equals qdist in any dimension', () => {
    const rng = new SeededRandom(5);
    const code = () => Math.round(rng.uniform() * 254) - 127;
    for (let d = 1; d <= 40; d++) {
      const words = Math.ceil(d / 4);
      for (let r = 0; r < 20; r++) {
        const a = Int8Array.from({ length: d }, code);
        // two codes in a word array, the second at word offset `words` (zero padding past d, as in the index)
        const w = new Int32Array(2 * words);
        const b = new Int8Array(w.buffer);
        for (let j = 0; j < d; j++) b[words * 4 + j] = code();
        const q = new Int32Array(words * 4);
        q.set(a);
        expect(qdistQ(q, 0, w, words, words)).toBe(qdist(a, 0, b, words * 4, d));
      }
    }
  });

  it('dist2Within is dist2, bit for bit, unless the sum passes the bound (then it returns a partial sum above it)', () => {
    const rng = new SeededRandom(6);
    for (const d of [7, 8, 32]) {
      for (let r = 0; r < 50; r++) {
        const a = Float32Array.from({ length: d }, () => rng.normal());
        const b = Float32Array.from({ length: d }, () => rng.normal());
        const full = dist2(a, 0, b, 0, d);
        expect(dist2Within(a, 0, b, 0, d, full)).toBe(full);
        expect(dist2Within(a, 0, b, 0, d, Infinity)).toBe(full);
        const bound = full * rng.uniform();
        const part = dist2Within(a, 0, b, 0, d, bound);
        expect(part).toBeGreaterThan(bound);
        expect(part).toBeLessThanOrEqual(full);
      }
    }
  });
});
