/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import type { RunSummary } from '../../framework/definitions/index.ts';
import type {
  EventRecord,
  RunRecord,
  SchedulerDecisionRecord,
  StepAttemptRecord,
} from '../../framework/storage/index.ts';
import { ID } from '../static/ids.js';
import { formatDuration, formatTs, Page, partitionLabel, StatusPill } from './layout.tsx';
import { ListTable } from './list-table.tsx';

export interface RunPageData {
  run: RunRecord;
  events: EventRecord[];
  attempts: StepAttemptRecord[];
  summary: RunSummary;
  logs: { asset_key: string; partition_key: string; bytes: number; url: string }[];
  /** The daemon's decisions that launched this run (none when started by hand). */
  launchedBy?: SchedulerDecisionRecord[];
}

const stepLabel = (s: { asset_key: string; partition_key: string }) =>
  `${s.asset_key}${partitionLabel(s.partition_key)}`;

/** An asset's partitions in a run get one Gantt row each, up to this many; beyond, one row for all of them. */
const MAX_PARTITION_ROWS = 8;

interface Bar {
  label: string;
  status: string;
  start: number | null;
  end: number | null;
  duration: number | null;
  /** For a row that stands for many partitions: how many ended in each state. */
  states?: string;
}

const STATUS_ORDER = ['FAILURE', 'CANCELED', 'RUNNING', 'SKIPPED', 'PENDING', 'SUCCESS'];

/** One row for many partitions of an asset (e.g. a batched Silver step): from the first start to the last end. */
function mergeBars(assetKey: string, bars: Bar[]): Bar {
  const counts = new Map<string, number>();
  for (const b of bars) counts.set(b.status, (counts.get(b.status) ?? 0) + 1);
  const starts = bars.flatMap((b) => (b.start === null ? [] : [b.start]));
  const ends = bars.flatMap((b) => (b.end === null ? [] : [b.end]));
  const start = starts.length > 0 ? Math.min(...starts) : null;
  const end = ends.length > 0 ? Math.max(...ends) : null;
  return {
    label: `${assetKey} [${bars.length} partitions]`,
    status: STATUS_ORDER.find((s) => counts.has(s)) ?? 'PENDING',
    start,
    end,
    duration: start !== null && end !== null ? end - start : null,
    states: [...counts].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', '),
  };
}

/**
 * SVG Gantt chart: one row per planned step, a bar from its start over its duration (running: until
 * now). An asset with more than MAX_PARTITION_ROWS partitions in the run gets one row for all of them.
 */
function Gantt(props: { run: RunRecord; attempts: StepAttemptRecord[] }) {
  const latest = new Map(props.attempts.map((a) => [`${a.asset_key}|${a.partition_key}`, a]));
  const now = Date.now();
  const t0 = Date.parse(props.run.started_at ?? props.run.created_at);
  const byAsset = new Map<string, Bar[]>();
  for (const s of props.run.plan) {
    const a = latest.get(`${s.asset_key}|${s.partition_key}`);
    const start = a?.started_at ? Date.parse(a.started_at) : null;
    const end =
      start === null ? null : a?.duration_ms != null ? start + a.duration_ms : a?.status === 'RUNNING' ? now : start;
    const bar = { label: stepLabel(s), status: a?.status ?? 'PENDING', start, end, duration: a?.duration_ms ?? null };
    byAsset.set(s.asset_key, [...(byAsset.get(s.asset_key) ?? []), bar]);
  }
  const bars = [...byAsset].flatMap(([key, rows]) =>
    rows.length > MAX_PARTITION_ROWS ? [mergeBars(key, rows)] : rows,
  );
  const tEnd = Math.max(
    t0 + 1,
    ...bars.map((b) => b.end ?? 0),
    props.run.finished_at ? Date.parse(props.run.finished_at) : 0,
  );
  const labelW = 300;
  const chartW = 560;
  const rowH = 24;
  const scale = chartW / (tEnd - t0);
  const height = bars.length * rowH + 24;
  return (
    <svg
      class="gantt"
      id="gantt"
      viewBox={`0 0 ${labelW + chartW + 200} ${height}`}
      role="img"
      aria-label="Step timeline"
    >
      {bars.map((b, i) => (
        <g class={`gantt-row st-${b.status}`} data-step={b.label}>
          <text x="4" y={i * rowH + 16}>
            {b.label.slice(0, 44)}
          </text>
          {b.start !== null && b.end !== null ? (
            <rect
              x={labelW + (b.start - t0) * scale}
              y={i * rowH + 4}
              width={Math.max(2, (b.end - b.start) * scale)}
              height={rowH - 8}
              rx="3"
            >
              <title>{`${b.label}: ${b.states ?? b.status}, ${formatDuration(b.duration)}`}</title>
            </rect>
          ) : null}
          <text class="dur" x={labelW + chartW + 6} y={i * rowH + 16}>
            {b.status === 'PENDING' ? 'pending' : `${formatDuration(b.duration)}${b.states ? ` · ${b.states}` : ''}`}
          </text>
        </g>
      ))}
      <text class="axis" x={labelW} y={height - 4}>
        0
      </text>
      <text class="axis" x={labelW + chartW} y={height - 4} text-anchor="end">
        {formatDuration(tEnd - t0)}
      </text>
    </svg>
  );
}

/** `/runs/:id`: status, Gantt, summary with compute-log links, live event log (run.js, SSE). */
export function RunPage(props: RunPageData) {
  const { run, summary } = props;
  const logUrl = new Map(props.logs.map((l) => [`${l.asset_key}|${l.partition_key}`, l.url]));
  const active = run.status === 'QUEUED' || run.status === 'STARTED';
  const lastEventId = props.events.at(-1)?.event_id ?? 0;
  return (
    <Page title={`Run ${run.run_id}`} scripts={['/static/run.js']}>
      <div class="title-row">
        <h1>
          Run <code>{run.run_id}</code>
        </h1>
        <span id={ID.runStatus} data-status={run.status}>
          <StatusPill status={run.status} />
        </span>
        {/* any active run: one of another process (CLI, daemon) stops when that process polls */}
        {active ? (
          <button type="button" id={ID.cancel} class="danger" data-run-id={run.run_id}>
            Cancel run
          </button>
        ) : null}
      </div>
      {run.reason ? <pre class="error">{run.reason}</pre> : null}
      <table class="kv">
        <tbody>
          <tr>
            <th>selection</th>
            <td>
              <code>{run.selection}</code>
              {run.partition ? ` partition ${run.partition}` : ''}
              {run.stale_only ? ' (stale only)' : ''}
            </td>
          </tr>
          <tr>
            <th>created / started / finished</th>
            <td>{`${formatTs(run.created_at)} / ${formatTs(run.started_at)} / ${formatTs(run.finished_at)}`}</td>
          </tr>
          <tr>
            <th>duration</th>
            <td>{formatDuration(summary.duration_ms)}</td>
          </tr>
          {props.launchedBy?.length ? (
            <tr>
              <th>launched by</th>
              <td>
                <a href={`/daemon#tick-${props.launchedBy[0]!.tick_id}`}>the daemon</a>
                {`: ${props.launchedBy[0]!.reason}`}
                {props.launchedBy.length > 1 ? (
                  <span class="muted">{` (+${props.launchedBy.length - 1} more)`}</span>
                ) : null}
              </td>
            </tr>
          ) : null}
          <tr>
            <th>process</th>
            <td>{`pid ${run.pid ?? '?'} on ${run.hostname ?? '?'}`}</td>
          </tr>
        </tbody>
      </table>

      <h2>Timeline</h2>
      {run.plan.length === 0 ? (
        <p class="muted">Nothing to do: every selected asset was fresh.</p>
      ) : (
        <Gantt run={run} attempts={props.attempts} />
      )}

      <h2>Steps</h2>
      <ListTable id="steps" head={['step', 'status', 'duration', 'attempts', 'rows', 'checks', 'note', 'log']}>
        {summary.steps.map((s) => {
          const url = logUrl.get(`${s.asset_key}|${s.partition_key}`);
          return (
            <tr data-step={stepLabel(s)}>
              <td>
                <a href={`/assets/${s.asset_key}`}>{s.asset_key}</a>
                {s.partition_key ? <span class="muted">{` [${s.partition_key}]`}</span> : null}
              </td>
              <td>
                <StatusPill status={s.status} />
              </td>
              <td>{formatDuration(s.duration_ms)}</td>
              <td>{s.attempts}</td>
              <td>{s.row_count ?? '-'}</td>
              <td>
                {s.checks.map((c) => (
                  <span
                    class={`pill check-${c.passed ? 'passed' : c.severity === 'warn' ? 'warn' : 'failed'}`}
                    title={c.failures != null ? `${c.failures} failure(s)` : ''}
                  >
                    {`${c.name}${c.passed ? '' : c.failures != null ? ` (${c.failures})` : ' ✗'}`}
                  </span>
                ))}
              </td>
              <td class="reason">{s.reason ?? ''}</td>
              <td>{url ? <a href={url}>compute log</a> : '-'}</td>
            </tr>
          );
        })}
      </ListTable>

      {active ? (
        <>
          <h2>Live output</h2>
          <p class="muted">What the running steps print (a Spark job's log), as it is written.</p>
          <pre class="live-output" id={ID.liveOutput} data-run-id={run.run_id} />
        </>
      ) : null}

      <h2>Event log</h2>
      <ListTable
        class="events"
        id={ID.events}
        data-run-id={run.run_id}
        data-after={String(lastEventId)}
        data-active={active ? 'true' : 'false'}
        head={['time', 'level', 'step', 'message']}
      >
        {props.events
          .filter((e) => e.level !== 'debug')
          .map((e) => (
            <tr class={`lvl-${e.level}`}>
              <td>{formatTs(e.ts).slice(11)}</td>
              <td>{e.level}</td>
              <td>{e.asset_key ? `${e.asset_key}${partitionLabel(e.partition_key ?? '')}` : ''}</td>
              <td>{e.message}</td>
            </tr>
          ))}
      </ListTable>
      <p id="live-note" class="muted" hidden={!active}>
        Live: new events appear as they happen.
      </p>
    </Page>
  );
}
