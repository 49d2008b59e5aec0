import { readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import pc from 'picocolors';
import { writtenTogether } from '../framework/definitions/index.ts';
import { UsageError } from '../framework/errors/index.ts';
import { worstFreshness } from '../framework/freshness/index.ts';
import { matchesPartitionFilter, parsePartitionFilter, reapDeadRuns } from '../framework/judging/index.ts';
import { loadStatus, type Project } from '../framework/project/index.ts';
import { resolveSelection } from '../framework/selection/index.ts';
import {
  describeCause,
  exceptionsOf,
  explainStatus,
  type PartitionStatus,
  statusCounts,
} from '../framework/staleness/index.ts';
import { RUN_STATUSES, type RunStatus } from '../framework/states/index.ts';
import { colorStatus, eventLine, printJson, textTable } from './output.ts';
import { selectKeys } from './select-keys.ts';

const STATES = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'] as const;
const DEFAULT_PARTITION_LIMIT = 100;

interface StatusFlags {
  json?: boolean;
  /** List partitions (implied by `partition` and `state`). */
  partitions?: boolean;
  /** `dim=value` / `dim=from...to` filter of the listed partitions. */
  partition?: string;
  /** Comma-separated states of the listed partitions, e.g. `stale,failed`. */
  state?: string;
  /** At most this many listed partitions per asset (default 100; 0 = all). */
  limit?: string;
}

function parseStates(text: string | undefined): Set<string> | undefined {
  if (text === undefined) return undefined;
  const states = text.split(',').map((s) => s.trim().toUpperCase());
  const bad = states.filter((s) => !(STATES as readonly string[]).includes(s));
  if (bad.length > 0 || states.length === 0) {
    throw new UsageError(
      `--state '${text}': use one or more of ${STATES.map((s) => s.toLowerCase()).join(', ')} (comma-separated).`,
    );
  }
  return new Set(states);
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PARTITION_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--limit '${text}': use a whole number ≥ 0 (0 lists all).`);
  return n === 0 ? Number.POSITIVE_INFINITY : n;
}

/**
 * `fairway status`: per asset its state, partition counts by state and the first cause; partitions are
 * listed only when asked (`--partitions`, `--partition <filter>`, `--state`), at most `--limit` per asset.
 */
export async function statusCommand(
  project: Project,
  selection: string | undefined,
  flags: StatusFlags,
): Promise<number> {
  const keys = selectKeys(project, selection);
  const states = parseStates(flags.state);
  const filter = flags.partition ? parsePartitionFilter(flags.partition) : undefined;
  const limit = parseLimit(flags.limit);
  const listing = Boolean(flags.partitions || filter || states);
  const { staleness, freshness } = await loadStatus(project, keys, {
    freshnessAt: new Date(),
    ...(flags.partition ? { partition: flags.partition } : {}),
  });
  const hasPolicies = keys.some((k) => project.graph.definition(k).freshness);
  let cut = 0;
  const rows = keys.map((key) => {
    const statuses = staleness.get(key) ?? new Map<string, PartitionStatus>();
    const { counts, firstNotFresh } = statusCounts(statuses);
    const worst = (['FAILED', 'RUNNING', 'STALE', 'MISSING', 'FRESH'] as const).find((s) => counts[s]) ?? 'MISSING';
    const firstCause = firstNotFresh?.[1].causes[0];
    const row = {
      key,
      status: statuses.size === 0 ? 'MISSING' : worst,
      partitioned: Boolean(project.graph.definition(key).partitions),
      counts,
      freshness: freshness?.has(key) ? (worstFreshness(freshness.get(key))?.freshness.state ?? 'FRESH') : null,
      first_cause: firstCause ? { partition: firstNotFresh![0], ...firstCause, text: describeCause(firstCause) } : null,
    };
    if (!listing) return row;
    // without FRESH in --state, only the partitions not fresh are walked (all of them, at a million, are not)
    const walked = states && !states.has('FRESH') ? exceptionsOf(statuses, (s) => s.status === 'FRESH') : statuses;
    const matched = [...walked].filter(
      ([p, s]) => (!states || states.has(s.status)) && (!filter || p === '' || matchesPartitionFilter(p, filter)),
    );
    if (matched.length > limit) cut += matched.length - limit;
    return {
      ...row,
      partitions_matched: matched.length,
      partitions: matched.slice(0, limit).map(([p, s]) => ({
        partition: p,
        status: s.status,
        data_version: s.dataVersion,
        materialized_at: s.materializedAt,
        causes: s.causes.map((c) => ({ ...c, text: describeCause(c) })),
        freshness: freshness?.get(key)?.get(p) ?? null,
      })),
    };
  });
  if (cut > 0) {
    process.stderr.write(`${cut} partition(s) not listed: past --limit ${limit} per asset (--limit 0 lists all).\n`);
  }
  if (flags.json) {
    printJson(rows);
    return 0;
  }
  const fc = (state: string | null | undefined) => (hasPolicies ? [state ? colorStatus(state) : '-'] : []);
  const lines: string[][] = [['ASSET', 'STATUS', ...(hasPolicies ? ['FRESHNESS'] : []), 'PARTITIONS', 'WHY']];
  for (const r of rows) {
    const summary = r.partitioned
      ? Object.entries(r.counts)
          .map(([s, n]) => `${n} ${s.toLowerCase()}`)
          .join(', ') || 'none known'
      : '-';
    lines.push([r.key, colorStatus(r.status), ...fc(r.freshness), summary, r.first_cause?.text ?? '']);
    if ('partitions' in r && r.partitioned) {
      for (const p of r.partitions)
        lines.push([`  ${p.partition}`, colorStatus(p.status), ...fc(p.freshness?.state), '', p.causes[0]?.text ?? '']);
    }
  }
  process.stdout.write(`${textTable(lines)}\n`);
  return 0;
}

/** `fairway why`. */
export async function whyCommand(
  project: Project,
  key: string,
  flags: { partition?: string; json?: boolean },
): Promise<number> {
  const keys = resolveSelection(project.graph, key);
  if (keys.length !== 1 || keys[0] !== key)
    throw new UsageError(`'why' takes one asset key; '${key}' selects ${keys.length} assets.`);
  const { staleness, freshness } = await loadStatus(project, [key, ...project.graph.upstream(key)], {
    freshnessAt: new Date(),
  });
  const parts = staleness.get(key) ?? new Map<string, PartitionStatus>();
  let partition = flags.partition ?? '';
  if (project.graph.definition(key).partitions && !flags.partition) {
    partition = statusCounts(parts).firstNotFresh?.[0] ?? parts.keys().next().value ?? '';
    if (partition === '')
      throw new UsageError(`'${key}' is partitioned and has no known partition yet; pass --partition.`);
  }
  if (flags.partition) {
    const match = [...parts.keys()].find(
      (p) => p === flags.partition || p.split(',').every((kv) => flags.partition!.includes(kv)),
    );
    if (!match) {
      throw new UsageError(
        `Partition '${flags.partition}' of '${key}' is unknown. Known: ${[...parts.keys()].slice(0, 10).join(' ; ') || 'none'}.`,
      );
    }
    partition = match;
  }
  const lines = explainStatus(staleness, key, partition);
  const f = freshness?.get(key)?.get(partition);
  if (f) lines.push({ depth: 0, asset_key: key, partition_key: partition, text: `freshness: ${f.state}, ${f.text}` });
  // a failed gate (the asset's or an upstream's asset-scoped blocking checks; a multi-asset's gate holds every
  // output written with it) holds it back: say which and why
  const related = [key, ...project.graph.upstream(key)];
  const gated = [...new Set(related.flatMap((k) => writtenTogether(project.graph.definition(k))))];
  for (const c of project.store.latestCheckEvaluations(gated, { partitions: [''] })) {
    if (c.passed || !c.blocking || c.severity !== 'error') continue;
    const rows = c.failures != null ? ` (${c.failures} failing rows)` : '';
    lines.push({
      depth: 0,
      asset_key: c.asset_key,
      partition_key: '',
      text: `blocking check '${c.check_name}' on ${c.asset_key} failed in run ${c.run_id}${rows}${c.description ? `: ${c.description}` : ''}`,
    });
  }
  if (flags.json) printJson(lines);
  else process.stdout.write(`${lines.map((l) => `${'  '.repeat(l.depth)}${l.text}`).join('\n')}\n`);
  return 0;
}

/** `fairway runs`. */
export function runsCommand(project: Project, flags: { status?: string; limit?: string; json?: boolean }): number {
  const status = flags.status?.toUpperCase();
  if (status && !RUN_STATUSES.includes(status as RunStatus)) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}; got '${flags.status}'.`);
  }
  const limit = Number(flags.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit must be a positive integer; got '${flags.limit}'.`);
  reapDeadRuns(project.store); // a run whose process died is FAILURE here, not STARTED until another command looks
  const page = project.store.listRuns({ limit, ...(status ? { status: status as RunStatus } : {}) });
  if (flags.json) printJson(page);
  else {
    process.stdout.write(
      `${textTable([
        ['RUN', 'STATUS', 'CREATED', 'STEPS', 'SELECTION', 'REASON'],
        ...page.items.map((r) => [
          r.run_id,
          colorStatus(r.status),
          r.created_at,
          String(r.plan.length),
          r.selection,
          r.reason ?? '',
        ]),
      ])}\n`,
    );
  }
  return 0;
}

/** `fairway logs <run-id>`: the run's events, and with --step the compute log of that step. */
export async function logsCommand(
  project: Project,
  runId: string,
  flags: { step?: string; json?: boolean; follow?: boolean },
): Promise<number> {
  reapDeadRuns(project.store);
  const run = project.store.getRun(runId);
  if (!run) throw new UsageError(`No run '${runId}'. Run 'fairway runs' to list runs.`);
  if (flags.follow) {
    if (flags.json)
      throw new UsageError(
        '--follow prints text as it is written; use `fairway logs <run-id> --json` once the run has finished.',
      );
    const { followRun } = await import('./follow-logs.ts');
    const ended = await followRun(project, run, flags.step ? { step: flags.step } : {});
    return ended.status === 'SUCCESS' ? 0 : 1; // a script following a run learns how it ended
  }
  if (flags.step) {
    // a step's one log is recorded under its asset and first partition: match any partition of the asset,
    // and any output of a multi-asset (one step wrote them all)
    const asset = flags.step.replace(/\[.*\]$/, '');
    const keys = new Set(
      project.graph.has(asset) ? (project.graph.definition(asset).multi?.outputs ?? [asset]) : [asset],
    );
    const all = project.store.computeLogs(runId).filter((l) => keys.has(l.asset_key));
    const exact = all.filter((l) => `${l.asset_key}[${l.partition_key}]` === flags.step);
    const logs = exact.length > 0 ? exact : all;
    if (logs.length === 0) throw new UsageError(`Run ${runId} has no compute log for step '${flags.step}'.`);
    for (const l of logs) {
      const full = resolve(project.stateDir, l.path);
      if (!full.startsWith(project.stateDir + sep))
        throw new UsageError(`Refusing to read a log outside the state directory: ${l.path}`);
      process.stdout.write(
        `${pc.bold(`== ${l.asset_key}${l.partition_key ? ` [${l.partition_key}]` : ''} (${l.path})`)}\n`,
      );
      process.stdout.write(readFileSync(full, 'utf8'));
    }
    return 0;
  }
  const events = project.store.getEvents(runId);
  if (flags.json) printJson({ run, events, compute_logs: project.store.computeLogs(runId) });
  else {
    process.stdout.write(
      `run ${run.run_id} ${colorStatus(run.status)} (${run.selection})${run.reason ? `: ${run.reason}` : ''}\n`,
    );
    for (const e of events) {
      if (e.level === 'debug') continue;
      process.stdout.write(eventLine(e));
    }
    const logs = project.store.computeLogs(runId);
    if (logs.length > 0) {
      process.stdout.write(`\ncompute logs (fairway logs ${runId} --step <asset>):\n`);
      for (const l of logs) process.stdout.write(`  ${join(project.stateDir, l.path)}\n`);
    }
  }
  return 0;
}
