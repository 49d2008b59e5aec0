/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import { RUN_STATUSES } from '../../framework/states/index.ts';
import type { RunRecord } from '../../framework/storage/index.ts';
import { formatDuration, formatTs, Page, StatusPill } from './layout.tsx';
import { ListTable } from './list-table.tsx';

const durationOf = (r: RunRecord) =>
  r.started_at ? Date.parse(r.finished_at ?? new Date().toISOString()) - Date.parse(r.started_at) : null;

/** `/runs`: newest first, filtered by status, paged with `before`. */
export function RunsPage(props: { runs: RunRecord[]; next: string | null; status: string | undefined }) {
  const qs = (before: string) =>
    `?${props.status ? `status=${props.status}&` : ''}before=${encodeURIComponent(before)}`;
  return (
    <Page title="Runs">
      <h1>Runs</h1>
      <form method="get" action="/runs" class="toolbar">
        <label class="inline">
          status{' '}
          <select name="status">
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option value={s} selected={s === props.status}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {props.runs.length === 0 ? <p class="muted">No runs.</p> : null}
      <ListTable id="runs" head={['run', 'status', 'created', 'duration', 'steps', 'selection', 'reason']}>
        {props.runs.map((r) => (
          <tr>
            <td>
              <a href={`/runs/${r.run_id}`}>
                <code>{r.run_id}</code>
              </a>
            </td>
            <td>
              <StatusPill status={r.status} />
            </td>
            <td>{formatTs(r.created_at)}</td>
            <td>{formatDuration(durationOf(r))}</td>
            <td>{r.plan.length}</td>
            <td>
              <code>{r.selection}</code>
              {r.partition ? <span class="muted">{` [${r.partition}]`}</span> : null}
              {r.stale_only ? <span class="muted"> stale only</span> : null}
            </td>
            <td class="reason">{r.reason ?? ''}</td>
          </tr>
        ))}
      </ListTable>
      {props.next ? (
        <p>
          <a href={`/runs${qs(String(props.next))}`}>Older runs →</a>
        </p>
      ) : null}
    </Page>
  );
}
