import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The one root logger. JSON to stderr (stdout stays free for command output and `--json`);
 * pretty when stderr is a TTY. Level from `FAIRWAY_LOG_LEVEL` (default `info`, `warn` in tests).
 */
export function createRootLogger(opts: { level?: string; pretty?: boolean; destination?: number } = {}): Logger {
  const level = opts.level ?? process.env.FAIRWAY_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');
  const pretty = opts.pretty ?? (process.stderr.isTTY && !process.env.CI);
  if (pretty) return pino({ level }, prettyStderr());
  return pino({ level, base: { app: 'fairway' } }, pino.destination({ dest: opts.destination ?? 2, sync: true }));
}

let root: Logger | undefined;

/** The process-wide root logger; children carry run_id, asset_key, partition. */
export function rootLogger(): Logger {
  root ??= createRootLogger();
  return root;
}

export function setRootLogger(logger: Logger): void {
  root = logger;
}

/**
 * Pretty lines on stderr, written synchronously in this process. pino-pretty is required on the first
 * line, not before: most commands log nothing on a TTY, and a pino transport would start a worker
 * thread that loads it every time.
 */
function prettyStderr(): { write: (line: string) => void } {
  let format: ((line: string) => string) | undefined;
  return {
    write(line) {
      format ??= (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')).prettyFactory({
        colorize: true,
        ignore: 'pid,hostname',
      });
      writeSync(2, format(line));
    },
  };
}
