/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import type { AssetSummary } from '../api-schemas.ts';
import type { GraphLayout } from '../layout.ts';
import { ID } from '../static/ids.js';
import { Page } from './layout.tsx';

const STATUSES = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'];
const FRESHNESS = ['FRESH', 'WARN', 'OVERDUE'];

function edgePath(
  a: { x: number; y: number; width: number; height: number },
  b: { x: number; y: number; height: number },
) {
  const x1 = a.x + a.width;
  const y1 = a.y + a.height / 2;
  const x2 = b.x;
  const y2 = b.y + b.height / 2;
  const dx = Math.max(30, (x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const FRESHNESS_WIDTH = 58;

/** The freshness badge in a node's lower right corner: the worst partition's state, its reason on hover. */
function FreshnessBadge(props: { node: { x: number; y: number; width: number; height: number }; asset: AssetSummary }) {
  const f = props.asset.freshness!;
  const { node: n } = props;
  const x = n.x + n.width - FRESHNESS_WIDTH - 8;
  const y = n.y + n.height - 20;
  return (
    <g class={`fresh-badge fr-${f.state}`} data-freshness={f.state}>
      <title>{`freshness ${f.state}${f.partition_key ? ` [${f.partition_key}]` : ''}: ${f.text}`}</title>
      <rect x={x} y={y} width={FRESHNESS_WIDTH} height="14" rx="7" />
      <text x={x + FRESHNESS_WIDTH / 2} y={y + 10.5}>
        {f.state.toLowerCase()}
      </text>
    </g>
  );
}

/** `/`: the lineage graph as server-rendered SVG; graph.js adds zoom, pan, filtering and launching. */
export function GraphPage(props: { layout: GraphLayout; assets: AssetSummary[] }) {
  const { layout } = props;
  const byKey = new Map(props.assets.map((a) => [a.key, a]));
  const pos = new Map(layout.nodes.map((n) => [n.key, n]));
  const viewBox = `0 0 ${Math.max(layout.width, 400)} ${Math.max(layout.height, 200)}`;
  return (
    <Page title="Lineage" scripts={['/static/graph.js']} wide>
      <section class="toolbar">
        <form id={ID.filterForm} class="filter" autocomplete="off">
          <input
            id={ID.filter}
            name="q"
            type="text"
            placeholder="Selection, e.g. +silver.clean_orders or group:gold"
            aria-label="Asset selection"
            spellcheck={false}
          />
          <button type="submit">Filter</button>
          <button type="button" id={ID.clearFilter}>
            Clear
          </button>
        </form>
        <label class="inline">
          <input type="checkbox" id={ID.staleOnly} /> stale only
        </label>
        <button type="button" id={ID.materialize} class="primary">
          Materialize selection
        </button>
        <span id={ID.filterCount} class="muted" />
      </section>
      <pre id={ID.filterError} class="error" hidden />
      <p id={ID.launchMessage} class="muted" hidden />
      <div class="legend">
        {STATUSES.map((s) => (
          <span class={`pill st-${s}`}>{s.toLowerCase()}</span>
        ))}
        {props.assets.some((a) => a.freshness) ? (
          <span class="muted">
            freshness:{' '}
            {FRESHNESS.map((s) => (
              <span class={`pill fr-${s}`}>{s.toLowerCase()}</span>
            ))}
          </span>
        ) : null}
        <span class="muted">
          {layout.nodes.length} assets · layout: {layout.engine} · wheel to zoom, drag to pan
        </span>
      </div>
      <div class="graph-wrap">
        <svg
          id={ID.graph}
          xmlns="http://www.w3.org/2000/svg"
          viewBox={viewBox}
          data-width={String(layout.width)}
          data-height={String(layout.height)}
          role="img"
          aria-label="Asset lineage graph"
        >
          <g class="groups">
            {layout.groups.map((g) => (
              <g class="group">
                <rect x={g.x} y={g.y} width={g.width} height={g.height} rx="8" />
                <text x={g.x + 10} y={g.y + 18}>
                  {g.name}
                </text>
              </g>
            ))}
          </g>
          <g class="edges">
            {layout.edges.map((e) => {
              const a = pos.get(e.from);
              const b = pos.get(e.to);
              return a && b ? <path d={edgePath(a, b)} data-from={e.from} data-to={e.to} /> : null;
            })}
          </g>
          <g class="nodes">
            {layout.nodes.map((n) => {
              const a = byKey.get(n.key);
              const status = a?.status ?? 'MISSING';
              const badge = a?.checks.badge;
              const freshness = a?.freshness;
              return (
                <a
                  href={`/assets/${n.key}`}
                  class={`node st-${status}`}
                  data-key={n.key}
                  data-status={status}
                  data-freshness={freshness?.state}
                >
                  <title>{`${n.key} — ${status}${a?.first_cause ? `: ${a.first_cause}` : ''}${freshness ? `; freshness ${freshness.state}` : ''}`}</title>
                  <rect class="box" x={n.x} y={n.y} width={n.width} height={n.height} rx="6" />
                  <rect class="bar" x={n.x} y={n.y} width="6" height={n.height} rx="3" />
                  <text class="key" x={n.x + 14} y={n.y + 22}>
                    {truncate(n.key, badge ? 27 : 30)}
                  </text>
                  <text class="kinds" x={n.x + 14} y={n.y + 42}>
                    {truncate((a?.kinds ?? []).join(', ') || 'asset', freshness ? 21 : 30)}
                  </text>
                  {a && freshness ? <FreshnessBadge node={n} asset={a} /> : null}
                  {badge ? (
                    <g class={`badge check-${badge}`}>
                      <circle cx={n.x + n.width - 14} cy={n.y + 14} r="7" />
                      <text x={n.x + n.width - 14} y={n.y + 18}>
                        {badge === 'passed' ? '✓' : badge === 'warn' ? '!' : '✗'}
                      </text>
                    </g>
                  ) : null}
                </a>
              );
            })}
          </g>
        </svg>
      </div>
    </Page>
  );
}
