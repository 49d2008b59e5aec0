import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

const require = createRequire(import.meta.url);

/**
 * The one root logger. JSON to stderr (stdout stays free for command output and `--json`);
 * pretty when stderr is a TTY. Level from `FAIRWAY_LOG_LEVEL` (default `info`, `warn` in tests).
 */
export function createRootLogger(opts: RootLoggerOptions = {}): Logger {
  // required here, not imported: a command that logs nothing (list, status) never loads pino (~30 ms)
  const pino = require('pino') as typeof import('pino');
  const level = opts.level ?? process.env.FAIRWAY_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');
  const pretty = opts.pretty ?? (process.stderr.isTTY && !process.env.CI);
  if (pretty) return pino({ level }, prettyStderr());
  return pino({ level, base: { app: 'fairway' } }, pino.destination({ dest: opts.destination ?? 2, sync: true }));
}

export interface RootLoggerOptions {
  level?: string;
  pretty?: boolean;
  destination?: number;
}

let root: Logger | undefined;
let rootOptions: RootLoggerOptions = {};

/** The process-wide root logger, created on first use; children carry run_id, asset_key, partition. */
export function rootLogger(): Logger {
  root ??= createRootLogger(rootOptions);
  return root;
}

/** How the root logger is to be created, on its first use (`createRootLogger`); replaces one already made. */
export function configureRootLogger(opts: RootLoggerOptions): void {
  rootOptions = opts;
  root = undefined;
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
      format ??= (require('pino-pretty') as typeof import('pino-pretty')).prettyFactory({
        colorize: true,
        ignore: 'pid,hostname',
      });
      writeSync(2, format(line));
    },
  };
}
