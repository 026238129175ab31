/** Types of decision-lines-worker.mjs (the writer thread of decisions.jsonl). */
export interface KeySet {
  readonly keys: readonly string[];
  readonly values: Record<string, number>;
}
export declare function keySet(keys: readonly string[]): KeySet;
export declare function formatLines(
  f64: Float64Array,
  u8: Uint8Array,
  keySets: Map<number, KeySet>,
  strings: readonly string[],
  count: number,
  out: { bytes(u8: Uint8Array, from: number, to: number): void; objectOpen(json: string): void; ascii(text: string): void },
): void;
