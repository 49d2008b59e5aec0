/**
 * What to record, per run of this process, if the process must stop at once: an uncaught error (a timer,
 * callback or promise a materializer left running throws after its step, or a bug) ends a Node process, and
 * without this its runs stay STARTED until another command reaps them as "probably killed". No imports: the
 * CLI installs its handlers before loading anything else.
 */
const stops = new Map<string, (reason: string) => void>();

/** Registers how to record run `runId` as stopped; returns the unregistration. */
export function onFatalStop(runId: string, stop: (reason: string) => void): () => void {
  stops.set(runId, stop);
  return () => {
    if (stops.get(runId) === stop) stops.delete(runId);
  };
}

/** Records every registered run as stopped for `reason` (synchronously) and returns their ids. */
export function stopRunsOnFatal(reason: string): string[] {
  const stopped: string[] = [];
  for (const [runId, stop] of stops) {
    try {
      stop(reason);
      stopped.push(runId);
    } catch {
      // the next command's reap records it
    }
  }
  stops.clear();
  return stopped;
}
