/** A bounded HTTP load loop: `clients` concurrent clients share a fixed number of requests, then stop. */

export interface LoadOptions {
  url: string;
  init?: RequestInit;
  clients: number;
  requests: number;
  /** Stop starting new requests after this many ms; the ones in flight finish (or time out). */
  deadlineMs: number;
  /** Per-request timeout (ms). */
  timeoutMs: number;
  /** Checks a response body; a false answer counts the request as an error. */
  isOk?: (body: string) => boolean;
}

export interface LoadResult {
  clients: number;
  requests_planned: number;
  requests_done: number;
  errors: number;
  first_error: string | null;
  stopped_by_deadline: boolean;
  wall_s: number;
  requests_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
  response_bytes: number | null;
}

/** Nearest-rank percentile of an ascending list. */
export const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

const round = (x: number) => Math.round(x * 10) / 10;

/** Runs the loop against one URL; latency is request start to the last body byte. */
export async function loadLoop(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | null = null;
  let bytes: number | null = null;
  let stoppedByDeadline = false;
  const start = performance.now();

  async function client() {
    while (next < opts.requests) {
      if (performance.now() - start > opts.deadlineMs) {
        stoppedByDeadline = true;
        return;
      }
      next++;
      const t0 = performance.now();
      try {
        const res = await fetch(opts.url, { ...opts.init, signal: AbortSignal.timeout(Math.floor(opts.timeoutMs)) });
        const body = await res.text();
        if (!res.ok || (opts.isOk && !opts.isOk(body))) throw new Error(`HTTP ${res.status}: ${body.slice(0, 300)}`);
        latencies.push(performance.now() - t0);
        bytes ??= Buffer.byteLength(body);
      } catch (e) {
        errors++;
        // undici's "fetch failed" says nothing; the cause (ECONNRESET, headers timeout…) is the useful part.
        const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
        firstError ??= e instanceof Error ? `${e.message}${cause}` : String(e);
      }
    }
  }

  await Promise.all(Array.from({ length: opts.clients }, client));
  const wall = (performance.now() - start) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    clients: opts.clients,
    requests_planned: opts.requests,
    requests_done: latencies.length,
    errors,
    first_error: firstError,
    stopped_by_deadline: stoppedByDeadline,
    wall_s: round(wall),
    requests_per_s: round(latencies.length / wall),
    latency_ms: sorted.length
      ? {
          p50: round(percentile(sorted, 50)),
          p90: round(percentile(sorted, 90)),
          p99: round(percentile(sorted, 99)),
          max: round(sorted.at(-1)!),
          mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
        }
      : null,
    response_bytes: bytes,
  };
}
