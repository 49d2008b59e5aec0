import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The one root logger. JSON to stderr (stdout stays free for command output and `--json`);
 * pretty when stderr is a TTY. Level from `FAIRWAY_LOG_LEVEL` (default `info`, `warn` in tests).
 */
export function createRootLogger(opts: { level?: string; pretty?: boolean; destination?: number } = {}): Logger {
  const level = opts.level ?? process.env.FAIRWAY_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info');
  const pretty = opts.pretty ?? (process.stderr.isTTY && !process.env.CI);
  if (pretty) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
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
