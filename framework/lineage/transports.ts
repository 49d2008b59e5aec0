import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { lineageEndpointUrl, type OpenLineageConfig } from './openlineage-config.ts';
import type { RunEvent } from './run-event.ts';

/** Sends a run's OpenLineage events; never throws, failures are logged. */
export interface LineageTransport {
  send(event: RunEvent): void;
  /** Waits for what is still being sent (bounded: an unreachable receiver does not hold the run). */
  flush(): Promise<void>;
}

/** Where the file transport writes: one JSON line per event, appended across runs. */
export const lineageFileOf = (stateDir: string) => join(stateDir, 'openlineage', 'events.jsonl');

const RETRIES = 2;
const BACKOFF_MS = [250, 1_000];
/** After this many events in a row that could not be delivered, the rest of the run's events are dropped. */
const GIVE_UP_AFTER = 3;

/** A transport for `config`: `file` under the state dir, `console` (stderr: stdout stays the command's), `http`. */
export function createTransport(
  config: OpenLineageConfig,
  opts: { stateDir: string; log: Logger; fetch?: typeof fetch; sleep?: (ms: number) => Promise<void> },
): LineageTransport {
  const { log } = opts;
  if (config.transport === 'file') {
    const file = lineageFileOf(opts.stateDir);
    let failed = false;
    return {
      send: (event) => {
        try {
          mkdirSync(join(opts.stateDir, 'openlineage'), { recursive: true });
          appendFileSync(file, `${JSON.stringify(event)}\n`);
        } catch (e) {
          if (!failed)
            log.warn({ err: (e as Error).message, file }, 'OpenLineage file transport failed; events dropped');
          failed = true;
        }
      },
      flush: async () => {},
    };
  }
  if (config.transport === 'console') {
    return {
      send: (event) => {
        process.stderr.write(`${JSON.stringify(event)}\n`);
      },
      flush: async () => {},
    };
  }
  return httpTransport(config, opts);
}

function httpTransport(
  config: Extract<OpenLineageConfig, { transport: 'http' }>,
  opts: { log: Logger; fetch?: typeof fetch; sleep?: (ms: number) => Promise<void> },
): LineageTransport {
  const { log } = opts;
  const target = new URL(lineageEndpointUrl(config));
  const url = target.href;
  target.username = '';
  target.password = '';
  /** As logged: without credentials a URL may carry. */
  const shown = target.href;
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (config.apiKey) headers.authorization = `Bearer ${config.apiKey}`;
  const stop = new AbortController();
  let chain = Promise.resolve();
  let failedInARow = 0;
  let dropped = 0;
  let gaveUp = false;

  /** One event, retried on a network error, a timeout, 429 or 5xx; true once delivered. */
  const post = async (event: RunEvent): Promise<boolean> => {
    let last = '';
    for (let attempt = 0; attempt <= RETRIES && !stop.signal.aborted; attempt++) {
      if (attempt > 0) await sleep(BACKOFF_MS[attempt - 1]!);
      try {
        const res = await doFetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(event),
          signal: AbortSignal.any([AbortSignal.timeout(config.timeoutMs), stop.signal]),
        });
        await res.arrayBuffer().catch(() => undefined); // frees the connection
        if (res.ok) return true;
        last = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) break; // the receiver refused it: retrying changes nothing
      } catch (e) {
        last = (e as Error).name === 'TimeoutError' ? `no answer within ${config.timeoutMs} ms` : (e as Error).message;
      }
    }
    log.warn(
      { url: shown, err: last, event_type: event.eventType, job: event.job.name },
      'OpenLineage event not delivered; the run goes on',
    );
    return false;
  };

  return {
    send: (event) => {
      chain = chain.then(async () => {
        if (gaveUp || stop.signal.aborted) {
          dropped++;
          return;
        }
        if (await post(event)) failedInARow = 0;
        else if (++failedInARow >= GIVE_UP_AFTER) {
          gaveUp = true;
          log.warn(
            { url: shown, failed: failedInARow },
            'OpenLineage receiver unreachable; dropping this run’s other events',
          );
        }
      });
    },
    flush: async () => {
      const deadline = Math.max(2 * config.timeoutMs, 2_000);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => {
        timer = setTimeout(() => r('late'), deadline);
      });
      const outcome = await Promise.race([chain.then(() => 'done' as const), late]);
      clearTimeout(timer);
      if (outcome === 'late') {
        stop.abort();
        await chain;
      }
      if (dropped > 0) log.warn({ url: shown, dropped }, 'OpenLineage events dropped (see the warnings above)');
    },
  };
}
