import { setTimeout as sleep } from 'node:timers/promises';
import pc from 'picocolors';
import { UsageError } from '../framework/errors/index.ts';
import { ComputeLogTail } from '../framework/execution/index.ts';
import { reapDeadRuns } from '../framework/judging/index.ts';
import type { Project } from '../framework/project/index.ts';
import type { RunRecord } from '../framework/storage/index.ts';
import { colorStatus, eventLine } from './output.ts';

const DONE = new Set(['SUCCESS', 'FAILURE', 'CANCELED']);
/** A dead run is found by the reaper (no heartbeat): look every few polls, not every one. */
const REAP_EVERY = 10;

interface FollowOptions {
  /** `asset` or `asset[partition]`: only that step's compute log (events are printed either way). */
  step?: string;
  pollMs?: number;
  write?: (text: string) => void;
}

/**
 * The step directories (`runs/<id>/steps/<dir>`) a `--step` value names: the asset's, or its multi-asset's
 * (`<name>`, `<name>__<partition>`, a batch `<name>__<first partition>__and_<n>_more`, its checks' `<name>__checks`).
 * With `[partition]`, the step whose (first) partition it is. An unknown asset is a usage error.
 */
function stepDirMatcher(project: Project, step: string | undefined): (dir: string) => boolean {
  if (!step) return () => true;
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(step);
  const asset = m?.[1] ?? step;
  if (!project.graph.has(asset)) {
    throw new UsageError(`Unknown asset '${asset}' in --step. Run 'fairway list' to see the assets.`);
  }
  const partition = m?.[2]?.replace(/[^A-Za-z0-9._=-]/g, '_');
  const multi = project.graph.definition(asset).multi?.name;
  const names = [asset, ...(multi ? [multi] : [])];
  return (dir) =>
    names.some((n) => {
      if (partition === undefined) return dir === n || dir.startsWith(`${n}__`);
      const exact = `${n}__${partition}`;
      return dir === exact || dir.startsWith(`${exact}__and_`);
    });
}

/**
 * `fairway logs <run-id> --follow`: the run's events and its steps' compute logs as they are written
 * (a Spark job's output while it runs, not when the step ends), until the run has finished; then its
 * status. Compute logs are read from `runs/<id>/steps/*\/compute.log`, each line prefixed with its step
 * when several are followed. A run whose process died ends the follow once the reaper marks it.
 */
export async function followRun(project: Project, run: RunRecord, opts: FollowOptions = {}): Promise<RunRecord> {
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  const pollMs = opts.pollMs ?? 500;
  const tail = new ComputeLogTail(project.stateDir, run.run_id, stepDirMatcher(project, opts.step));
  let lastEvent = 0;
  let current = run;
  write(`run ${run.run_id} ${colorStatus(run.status)} (${run.selection}): following its events and compute logs\n`);

  const drain = (final: boolean) => {
    for (const e of project.store.getEvents(run.run_id, { afterId: lastEvent })) {
      lastEvent = e.event_id ?? lastEvent;
      if (e.level !== 'debug') write(eventLine(e));
    }
    const one = opts.step !== undefined && tail.steps().length === 1;
    for (const { step, lines } of tail.read(final)) {
      const prefix = one ? '' : pc.dim(`${step} | `);
      for (const line of lines) write(`${prefix}${line}\n`);
    }
  };

  for (let poll = 0; ; poll++) {
    if (poll % REAP_EVERY === 0) reapDeadRuns(project.store);
    current = project.store.getRun(run.run_id) ?? current;
    const finished = DONE.has(current.status);
    drain(finished);
    if (finished) break;
    await sleep(pollMs);
  }
  write(`run ${current.run_id} ${colorStatus(current.status)}${current.reason ? `: ${current.reason}` : ''}\n`);
  return current;
}
