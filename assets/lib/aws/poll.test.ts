import { describe, expect, it } from 'vitest';
import { pause, pollDelay } from './poll.ts';

describe('pollDelay', () => {
  it('grows from the first wait by the factor and stays at the longest', () => {
    const b = { initialMs: 100, maxMs: 1_000, factor: 2 };
    expect([0, 1, 2, 3, 4, 5, 20].map((a) => pollDelay(a, b))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(pollDelay(0)).toBe(500);
    expect(pollDelay(50)).toBe(15_000);
  });
});

describe('pause', () => {
  it('ends at once when its signal aborts, and at once for an aborted signal', async () => {
    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(), 10);
    await pause(60_000, abort.signal);
    await pause(60_000, abort.signal);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
