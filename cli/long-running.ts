import { UsageError } from '../framework/errors/index.ts';

/** `--port`: a whole number 0–65535 (0 picks a free one); 3000 when not given. */
export function parsePortFlag(flag: string | undefined): number {
  const port = flag === undefined ? 3000 : Number(flag);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be an integer between 0 and 65535; got '${flag}'.`);
  }
  return port;
}

/** Resolves at the first SIGINT or SIGTERM (Ctrl-C, `kill`), and stops listening for them. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
