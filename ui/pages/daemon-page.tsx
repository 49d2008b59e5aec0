/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import type { SchedulerDecisionRecord, SchedulerTickRecord } from '../../framework/storage/index.ts';
import { formatDuration, formatTs, Page, StatusPill } from './layout.tsx';
import { ListTable } from './list-table.tsx';

export interface TickView {
  tick: SchedulerTickRecord;
  decisions: SchedulerDecisionRecord[];
}

/** When a launched step is expected to finish, against its deadline: "in time", or how late. */
function prediction(d: SchedulerDecisionRecord): string {
  if (d.expected_ms === null) return '';
  const finish = Date.parse(d.created_at) + d.expected_ms;
  const expected = `expected to take ${formatDuration(d.expected_ms)}`;
  if (!d.due_at) return expected;
  const slack = Date.parse(d.due_at) - finish;
  return slack >= 0
    ? `${expected}, ${formatDuration(slack)} before its deadline`
    : `${expected}: ${formatDuration(-slack)} past its deadline`;
}

function Decisions(props: { decisions: SchedulerDecisionRecord[] }) {
  const shown = props.decisions.filter((d) => d.action !== 'defer');
  const deferred = props.decisions.length - shown.length;
  return (
    <>
      {shown.length > 0 ? (
        <ListTable class="decisions" head={['decision', 'asset', 'why', 'deadline', 'run']}>
          {shown.map((d) => (
            <tr class={`decision-${d.action}`}>
              <td>{d.action}</td>
              <td>
                <a href={`/assets/${d.asset_key}`}>{d.asset_key}</a>
                {d.partition_key ? <span class="muted">{` [${d.partition_key}]`}</span> : null}
              </td>
              <td class="reason">
                {d.reason}
                {d.action === 'launch' && d.expected_ms !== null ? <div class="muted">{prediction(d)}</div> : null}
              </td>
              <td>{d.due_at ? formatTs(d.due_at) : '-'}</td>
              <td>
                {d.run_id ? (
                  <a href={`/runs/${d.run_id}`}>
                    <code>{d.run_id}</code>
                  </a>
                ) : (
                  '-'
                )}
              </td>
            </tr>
          ))}
        </ListTable>
      ) : null}
      {deferred > 0 ? <p class="muted">{`${deferred} partition(s) deferred: nothing due yet.`}</p> : null}
    </>
  );
}

/**
 * `/daemon`: the scheduling daemon's ticks, newest first, and the decisions behind each — what it launched
 * and why, what it left waiting and why, and when a launched step should finish against its deadline.
 * `?asset=` keeps the ticks that decided something about one asset.
 */
export function DaemonPage(props: { ticks: TickView[]; next: number | null; asset: string | undefined }) {
  const qs = (before: number) => `?${props.asset ? `asset=${encodeURIComponent(props.asset)}&` : ''}before=${before}`;
  return (
    <Page title="Daemon">
      <h1>Daemon{props.asset ? ` — ${props.asset}` : ''}</h1>
      <p class="muted">
        Each tick judges freshness and launches what must run to meet a policy or a schedule (fairway daemon or fairway
        dev).{props.asset ? ' ' : null}
        {props.asset ? <a href="/daemon">All assets</a> : null}
      </p>
      {props.ticks.length === 0 ? <p class="muted">No daemon tick recorded yet.</p> : null}
      {props.ticks.map(({ tick, decisions }) => (
        <section class="tick" id={`tick-${tick.tick_id}`}>
          <h2>
            {formatTs(tick.started_at)} <StatusPill status={tick.status} />{' '}
            <span class="muted">
              {tick.finished_at
                ? `took ${formatDuration(Date.parse(tick.finished_at) - Date.parse(tick.started_at))}`
                : 'running'}
              {` · ${tick.holder}`}
            </span>
          </h2>
          {tick.error ? <pre class="error">{tick.error}</pre> : null}
          <Decisions decisions={decisions} />
        </section>
      ))}
      {props.next !== null ? (
        <p>
          <a href={`/daemon${qs(props.next)}`}>Older ticks →</a>
        </p>
      ) : null}
    </Page>
  );
}
