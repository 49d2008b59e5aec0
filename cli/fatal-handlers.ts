import { stopRunsOnFatal } from '../framework/fatal-stop/index.ts';

/**
 * An uncaught error or unhandled rejection ends the CLI: Node's default printed a raw stack and left the
 * runs of this process STARTED. Now one line names the cause, the runs are recorded FAILURE with it (their
 * locks released, their child processes stopped) and the exit code is 1, as for any failed run.
 * `FAIRWAY_DEBUG=1` adds the stack. Installed by bin/fairway.js only (not by `main`, which tests call in process).
 */
export function installFatalHandlers(): void {
  let stopping = false;
  const onFatal = (e: unknown) => {
    if (stopping) return;
    stopping = true;
    const message = e instanceof Error ? e.message : String(e);
    const reason =
      `an uncaught error stopped Fairway: ${message.split('\n')[0]} (a timer, callback or promise that a ` +
      'materializer left running threw after its step, or a bug); make the materializer await everything it starts';
    const stopped = stopRunsOnFatal(reason);
    const runs = stopped.length > 0 ? ` Run ${stopped.join(', ')} is recorded as FAILURE.` : '';
    process.stderr.write(`error: ${reason}.${runs}\n`);
    if (process.env.FAIRWAY_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    else process.stderr.write('Rerun with FAIRWAY_DEBUG=1 for the stack trace.\n');
    process.exit(1);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
}
