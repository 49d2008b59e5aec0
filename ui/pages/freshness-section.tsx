/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import type { FreshnessDetail } from '../api-schemas.ts';
import { formatTs } from './layout.tsx';
import { ListTable } from './list-table.tsx';

const utc = (ts: string | null) => (ts ? `${formatTs(ts)} UTC` : '-');

/** Freshness policy, state and when it will warn / be overdue; per partition when partitioned. */
export function FreshnessSection(props: { freshness: FreshnessDetail; partitioned: boolean; assetKey: string }) {
  const f = props.freshness;
  // Partitions that lag (or will): most urgent first; fresh partitions with nothing pending are counted only.
  const lagging = f.partitions.slice(0, 50);
  return (
    <section id="freshness" data-state={f.state}>
      <h2>Freshness</h2>
      <p>
        <span class={`pill fr-${f.state}`}>{f.state}</span>
        <span class="muted">{`policy: ${f.policy}`}</span>{' '}
        <a href={`/daemon?asset=${encodeURIComponent(props.assetKey)}`}>the daemon's decisions</a>
      </p>
      <p class="freshness-text">{`${f.partition_key ? `[${f.partition_key}] ` : ''}${f.text}`}</p>
      <table class="kv">
        <tbody>
          <tr>
            <th>warns at</th>
            <td>{utc(f.warn_at)}</td>
          </tr>
          <tr>
            <th>overdue at</th>
            <td>{utc(f.due_at)}</td>
          </tr>
          {props.partitioned ? (
            <tr>
              <th>partitions</th>
              <td>{`${f.counts.FRESH} fresh · ${f.counts.WARN} warn · ${f.counts.OVERDUE} overdue`}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {props.partitioned && lagging.length > 0 ? (
        <ListTable id="freshness-partitions" head={['partition', 'state', 'warns at', 'overdue at', 'why']}>
          {lagging.map((p) => (
            <tr data-partition={p.partition_key}>
              <td>{p.partition_key}</td>
              <td>
                <span class={`pill fr-${p.state}`}>{p.state}</span>
              </td>
              <td>{utc(p.warn_at)}</td>
              <td>{utc(p.due_at)}</td>
              <td>{p.text}</td>
            </tr>
          ))}
        </ListTable>
      ) : null}
    </section>
  );
}
