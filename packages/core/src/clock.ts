/** Time is UTC epoch milliseconds everywhere inside the system. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: backtests and tests. */
export class SimulatedClock implements Clock {
  #t: number;
  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new RangeError(`SimulatedClock start must be finite, got ${start}`);
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  set(t: number): void {
    if (!Number.isFinite(t)) throw new RangeError(`SimulatedClock time must be finite, got ${t}`);
    if (t < this.#t) throw new RangeError(`SimulatedClock cannot go back from ${this.#t} to ${t}`);
    this.#t = t;
  }
  advance(ms: number): void {
    this.set(this.#t + ms);
  }
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** UTC midnight of the day containing t */
export function utcDayStart(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

export function toIso(t: number): string {
  return new Date(t).toISOString();
}
