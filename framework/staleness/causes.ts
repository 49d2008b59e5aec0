/** Why an asset partition is not FRESH. Plain data so CLI, API and UI render it alike. */
export type StaleCause =
  | { kind: 'never_materialized' }
  | { kind: 'last_attempt_failed'; run_id: string; reason: string | null }
  | { kind: 'code_version_changed'; from: string; to: string }
  | { kind: 'source_changed'; recorded: string | null; observed: string }
  | { kind: 'deps_changed'; added: string[]; removed: string[] }
  | { kind: 'upstream_data_changed'; upstream: string; consumed: string | null; current: string | null }
  | { kind: 'upstream_partitions_changed'; upstream: string; partitions: string[] }
  | { kind: 'upstream_stale'; upstream: string; partition: string; status: StatusKind };

import type { StatusKind } from '../states/index.ts';

export type { StatusKind };

export interface PartitionStatus {
  status: StatusKind;
  causes: StaleCause[];
  /** Data version of the latest materialization, when any. */
  dataVersion: string | null;
  materializedAt: string | null;
}

const short = (v: string | null) => (v === null ? 'nothing' : v.length > 16 ? `${v.slice(0, 12)}…` : v);
const part = (p: string) => (p === '' ? '' : ` [${p}]`);

/** One cause in plain words. */
export function describeCause(c: StaleCause): string {
  switch (c.kind) {
    case 'never_materialized':
      return 'it has never been materialized';
    case 'last_attempt_failed':
      return `its last attempt failed in run ${c.run_id}${c.reason ? `: ${c.reason}` : ''}`;
    case 'code_version_changed':
      return `its code changed (code version ${short(c.from)} → ${short(c.to)})`;
    case 'source_changed':
      return `its source data changed since it was materialized (source version ${short(c.recorded)} → ${short(c.observed)})`;
    case 'deps_changed':
      return `its dependencies changed (${[...c.added.map((k) => `+${k}`), ...c.removed.map((k) => `-${k}`)].join(', ')})`;
    case 'upstream_data_changed':
      return `upstream '${c.upstream}' has new data (consumed ${short(c.consumed)}, now ${short(c.current)})`;
    case 'upstream_partitions_changed':
      return `upstream '${c.upstream}' has new or changed partitions since: ${c.partitions.slice(0, 5).join('; ')}${c.partitions.length > 5 ? ` and ${c.partitions.length - 5} more` : ''}`;
    case 'upstream_stale':
      return `upstream '${c.upstream}'${part(c.partition)} is ${c.status.toLowerCase()}`;
  }
}
