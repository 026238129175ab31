import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_PHASES, EventPhases } from './event-phases.ts';

describe('EventPhases', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives each phase the time since the previous mark, adding up repeated phases (a catch-up decides several bars)', () => {
    const times = [100, 101.5, 103, 110, 112, 130, 131, 140.25];
    vi.spyOn(performance, 'now').mockImplementation(() => times.shift() ?? Number.NaN);
    const p = new EventPhases(); // 100
    p.start(); // 101.5
    p.mark('store'); // 103: 1.5
    p.mark('lock'); // 110: 7
    p.mark('prepare'); // 112: 2
    p.mark('decide'); // 130: 18
    p.mark('prepare'); // 131: +1
    p.mark('commit'); // 140.25: 9.25
    expect(p.toJSON()).toEqual({ store: 1.5, lock: 7, prepare: 3, decide: 18, commit: 9.25 });
  });

  it('starts every phase at zero and lists them in the order they run', () => {
    const p = new EventPhases();
    expect(p.toJSON()).toEqual({ store: 0, lock: 0, prepare: 0, decide: 0, commit: 0 });
    expect(EVENT_PHASES).toEqual(['store', 'lock', 'prepare', 'decide', 'commit']);
  });

  it('rounds to 0.01 ms for the log line', () => {
    const times = [0, 0, 1.23456];
    vi.spyOn(performance, 'now').mockImplementation(() => times.shift() ?? Number.NaN);
    const p = new EventPhases();
    p.start();
    p.mark('decide');
    expect(p.toJSON().decide).toBe(1.23);
    expect(p.decide).toBeCloseTo(1.23456, 10);
  });
});
