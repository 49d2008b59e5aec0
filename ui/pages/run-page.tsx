import type { RunSummary } from '../../framework/definitions/index.ts';
import type { EventRecord, RunRecord, StepAttemptRecord } from '../../framework/storage/index.ts';
import { formatDuration, formatTs, Page, partitionLabel, StatusPill } from './layout.tsx';

export interface RunPageData {
  run: RunRecord;
  events: EventRecord[];
  attempts: StepAttemptRecord[];
  summary: RunSummary;
  logs: { asset_key: string; partition_key: string; bytes: number; url: string }[];
  isLive: boolean;
}

const stepLabel = (s: { asset_key: string; partition_key: string }) =>
  `${s.asset_key}${partitionLabel(s.partition_key)}`;

/** SVG Gantt chart: one row per planned step, a bar from its start over its duration (running: until now). */
function Gantt(props: { run: RunRecord; attempts: StepAttemptRecord[] }) {
  const latest = new Map(props.attempts.map((a) => [`${a.asset_key}|${a.partition_key}`, a]));
  const now = Date.now();
  const t0 = Date.parse(props.run.started_at ?? props.run.created_at);
  const bars = props.run.plan.map((s) => {
    const a = latest.get(`${s.asset_key}|${s.partition_key}`);
    const start = a?.started_at ? Date.parse(a.started_at) : null;
    const end =
      start === null ? null : a?.duration_ms != null ? start + a.duration_ms : a?.status === 'RUNNING' ? now : start;
    return { step: s, status: a?.status ?? 'PENDING', start, end, duration: a?.duration_ms ?? null };
  });
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
      viewBox={`0 0 ${labelW + chartW + 90} ${height}`}
      role="img"
      aria-label="Step timeline"
    >
      {bars.map((b, i) => (
        <g class={`gantt-row st-${b.status}`} data-step={stepLabel(b.step)}>
          <text x="4" y={i * rowH + 16}>
            {stepLabel(b.step).slice(0, 44)}
          </text>
          {b.start !== null && b.end !== null ? (
            <rect
              x={labelW + (b.start - t0) * scale}
              y={i * rowH + 4}
              width={Math.max(2, (b.end - b.start) * scale)}
              height={rowH - 8}
              rx="3"
            >
              <title>{`${stepLabel(b.step)}: ${b.status}, ${formatDuration(b.duration)}`}</title>
            </rect>
          ) : null}
          <text class="dur" x={labelW + chartW + 6} y={i * rowH + 16}>
            {b.status === 'PENDING' ? 'pending' : formatDuration(b.duration)}
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
    <Page title={`Run ${run.run_id}`} scripts={['/static/common.js', '/static/run.js']}>
      <div class="title-row">
        <h1>
          Run <code>{run.run_id}</code>
        </h1>
        <span id="run-status" data-status={run.status}>
          <StatusPill status={run.status} />
        </span>
        {active && props.isLive ? (
          <button type="button" id="cancel" class="danger" data-run-id={run.run_id}>
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
      <table class="list" id="steps">
        <thead>
          <tr>
            <th>step</th>
            <th>status</th>
            <th>duration</th>
            <th>attempts</th>
            <th>rows</th>
            <th>checks</th>
            <th>note</th>
            <th>log</th>
          </tr>
        </thead>
        <tbody>
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
        </tbody>
      </table>

      <h2>Event log</h2>
      <table
        class="list events"
        id="events"
        data-run-id={run.run_id}
        data-after={String(lastEventId)}
        data-active={active ? 'true' : 'false'}
      >
        <thead>
          <tr>
            <th>time</th>
            <th>level</th>
            <th>step</th>
            <th>message</th>
          </tr>
        </thead>
        <tbody>
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
        </tbody>
      </table>
      <p id="live-note" class="muted" hidden={!active}>
        Live: new events appear as they happen.
      </p>
    </Page>
  );
}
