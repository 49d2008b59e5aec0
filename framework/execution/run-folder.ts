import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

/**
 * The one place that knows how a run's files are laid out under the state dir:
 *
 *   <stateDir>/runs/<run id>/summary.json              the run summary (launchRun)
 *   <stateDir>/runs/<run id>/steps/<step>/compute.log  a step's compute log (and its pipes files)
 *   <stateDir>/runs/<run id>/<invocation>/             a dbt invocation's target/ and logs/
 */
export const runFolder = (stateDir: string, runId: string): string => join(stateDir, 'runs', runId);

/** A step's own folder (`stepDirName` of the step, or `<asset>__checks` for its asset checks). */
export const stepFolder = (stateDir: string, runId: string, step: string): string =>
  join(runFolder(stateDir, runId), 'steps', step);

export const runSummaryPath = (stateDir: string, runId: string): string =>
  join(runFolder(stateDir, runId), 'summary.json');

export const computeLogPath = (stepDir: string): string => join(stepDir, 'compute.log');

/** Opens a compute-log file for a step; returns a line writer and a closer (resolving to the bytes written). */
export function openComputeLog(path: string): { write: (line: string) => void; close: () => Promise<number> } {
  const stream = createWriteStream(path, { flags: 'a' });
  let bytes = 0;
  return {
    write: (line) => {
      const text = `${line}\n`;
      bytes += Buffer.byteLength(text);
      stream.write(text);
    },
    close: () => new Promise((resolve) => stream.end(() => resolve(bytes))),
  };
}
