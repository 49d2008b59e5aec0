/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import { parsePartitionKey } from '../../framework/definitions/index.ts';
import type { PartitionHealth } from '../partition-health.ts';
import type { AssetDetail } from '../queries.ts';

/** States in the order the health bar stacks them, worst first. */
const HEALTH_ORDER = ['FAILED', 'RUNNING', 'STALE', 'MISSING', 'FRESH'] as const;
const HEALTH_HEIGHT = 64;

/**
 * Too many partitions for a cell each: one stacked column per day (or month) with the share of each state,
 * the courses (first dimension) with the most partitions not fresh, and the first of those partitions.
 */
function PartitionHealthView(props: { detail: AssetDetail; health: PartitionHealth }) {
  const { health, detail } = props;
  const buckets = health.columns.buckets;
  const w = Math.max(2, Math.min(24, Math.floor(960 / Math.max(1, buckets.length))));
  const total = (c: Partial<Record<string, number>>) => Object.values(c).reduce<number>((a, n) => a + (n ?? 0), 0);
  const columns = buckets.map((b, i) => {
    const n = total(b.counts);
    let y = HEALTH_HEIGHT;
    const parts = HEALTH_ORDER.filter((st) => b.counts[st]).map((st) => {
      const h = (HEALTH_HEIGHT * (b.counts[st] ?? 0)) / n;
      y -= h;
      return <rect class={`st-${st}`} x={i * w} y={y} width={Math.max(1, w - 1)} height={h} />;
    });
    const text = HEALTH_ORDER.filter((st) => b.counts[st])
      .map((st) => `${b.counts[st]} ${st.toLowerCase()}`)
      .join(', ');
    return (
      <g data-bucket={b.label}>
        <title>{`${health.columns.dimension} ${b.label}: ${text}`}</title>
        {parts}
      </g>
    );
  });
  const first = buckets[0]?.label ?? '';
  const last = buckets.at(-1)?.label ?? '';
  return (
    <div class="health" data-total={String(health.total)}>
      <svg
        class="health-bar"
        width={buckets.length * w}
        height={HEALTH_HEIGHT}
        role="img"
        aria-label={`partition states per ${health.columns.unit === 'month' ? 'month' : health.columns.dimension}`}
      >
        {columns}
      </svg>
      <p class="muted small">{`${health.columns.dimension} ${first} … ${last}, one column per ${health.columns.unit === 'month' ? 'month' : 'value'} (hover for counts)`}</p>
      {health.groups ? (
        <table class="list" id="partition-groups">
          <thead>
            <tr>
              <th>{health.groups.dimension}</th>
              <th>not fresh</th>
              {HEALTH_ORDER.map((st) => (
                <th>{st.toLowerCase()}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {health.groups.rows.map((r) => (
              <tr data-group={r.value}>
                <td>{r.value}</td>
                <td>{String(r.not_fresh)}</td>
                {HEALTH_ORDER.map((st) => (
                  <td>{String(r.counts[st] ?? 0)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {health.groups && health.groups.total > health.groups.rows.length ? (
        <p class="muted small">{`${health.groups.rows.length} of ${health.groups.total} ${health.groups.dimension} values shown, those with the most partitions not fresh first.`}</p>
      ) : null}
      {detail.partitions.length > 0 ? (
        <>
          <h3>{`Not fresh (first ${detail.partitions.length})`}</h3>
          <ul class="not-fresh">
            {detail.partitions.map((p) => (
              <li>
                <a href={`/assets/${detail.key}?partition=${encodeURIComponent(p.partition_key)}`}>{p.partition_key}</a>
                {` `}
                <span class={`pill st-${p.status}`}>{p.status}</span>
                {p.cause ? <span class="muted">{` ${p.cause}`}</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

/** 1-D partitions: a strip; 2-D: rows × columns of cells coloured by status; beyond `GRID_LIMIT`, a health bar. */
export function PartitionsGrid(props: { detail: AssetDetail }) {
  const { partitions, partitions_def: def, key, partition_health: health } = props.detail;
  if (!def) return null;
  if (health) {
    return (
      <>
        <p class="pgrid-summary muted">
          {`${health.total} partitions: `}
          {HEALTH_ORDER.filter((st) => health.counts[st]).map((st) => (
            <span class={`pill st-${st}`}>{`${health.counts[st]} ${st.toLowerCase()}`}</span>
          ))}
        </p>
        <PartitionHealthView detail={props.detail} health={health} />
      </>
    );
  }
  if (partitions.length === 0) return <p class="muted">No partitions known yet.</p>;
  const counts = new Map<string, number>();
  for (const p of partitions) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  const summary = (
    <p class="pgrid-summary muted">
      {`${partitions.length} partition${partitions.length === 1 ? '' : 's'}: `}
      {[...counts.entries()].map(([st, n]) => (
        <span class={`pill st-${st}`}>{`${n} ${st.toLowerCase()}`}</span>
      ))}
    </p>
  );
  const cell = (p: AssetDetail['partitions'][number] | undefined, label: string) =>
    p ? (
      <a
        href={`/assets/${key}?partition=${encodeURIComponent(p.partition_key)}`}
        class={`cell st-${p.status}`}
        title={`${p.partition_key}: ${p.status}${p.cause ? ` — ${p.cause}` : ''}`}
        data-partition={p.partition_key}
      >
        {label}
      </a>
    ) : (
      <span class="cell empty" />
    );
  if (def.dimensions.length < 2) {
    return (
      <>
        {summary}
        <div class="strip">
          {partitions.map((p) => cell(p, Object.values(parsePartitionKey(p.partition_key))[0] ?? p.partition_key))}
        </div>
      </>
    );
  }
  const [rowDim, colDim] = def.dimensions as [string, string];
  const byKey = new Map<string, AssetDetail['partitions'][number]>();
  const rows = new Set<string>();
  const cols = new Set<string>();
  for (const p of partitions) {
    const v = parsePartitionKey(p.partition_key);
    rows.add(v[rowDim] ?? '');
    cols.add(v[colDim] ?? '');
    byKey.set(`${v[rowDim]}|${v[colDim]}`, p);
  }
  const colList = [...cols].sort();
  return (
    <>
      {summary}
      <div class="grid-scroll">
        <table class="pgrid" data-rows={rowDim} data-cols={colDim}>
          <thead>
            <tr>
              <th class="corner">{`${rowDim} \\ ${colDim}`}</th>
              {colList.map((c) => (
                <th class="rot" scope="col">
                  <span>{c}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {[...rows].sort().map((r) => (
              <tr data-row={r}>
                <th scope="row">{r}</th>
                {colList.map((c) => (
                  <td>{cell(byKey.get(`${r}|${c}`), '')}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
