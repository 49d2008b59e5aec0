/** @jsxRuntime automatic @jsxImportSource hono/jsx */

import { raw } from 'hono/html';
import type { AssetPageSection, MetadataValue, TableRef } from '../../framework/definitions/index.ts';
import type { MaterializationRecord } from '../../framework/storage/index.ts';
import type { AssetDetail } from '../queries.ts';
import { numericMetadata } from '../queries.ts';
import { ID } from '../static/ids.js';
import { FreshnessSection } from './freshness-section.tsx';
import { formatTs, Page, partitionLabel, StatusPill } from './layout.tsx';
import { ListTable } from './list-table.tsx';
import { PartitionsGrid } from './partitions-section.tsx';
import { TableSection } from './table-section.tsx';

/** Metrics plotted first when the definitions name none (`assetPage.leadingMetrics`). */
export const DEFAULT_LEADING_METRICS: readonly string[] = ['row_count'];
/** How many metrics are plotted before the reader picks others. */
export const DEFAULT_PLOTTED = 6;

/** Orders numeric metadata keys for plotting: the leading metrics first, in their order, then alphabetical. */
export function orderMetrics(keys: Iterable<string>, leading: readonly string[] = DEFAULT_LEADING_METRICS): string[] {
  const rank = (k: string) => {
    const i = leading.indexOf(k);
    return i === -1 ? leading.length : i;
  };
  return [...new Set(keys)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function MetadataValueView(props: { value: MetadataValue }) {
  const v = props.value;
  switch (v.type) {
    case 'url':
      return /^https?:\/\//.test(v.value) ? <a href={v.value}>{v.value}</a> : <code>{v.value}</code>;
    case 'markdown':
    case 'json':
      return <pre class="small">{v.type === 'json' ? JSON.stringify(v.value, null, 2) : v.value}</pre>;
    case 'table_schema':
      return <span>{`${v.value.length} columns (see schema)`}</span>;
    default:
      return <code>{String(v.value)}</code>;
  }
}

/** `/assets/:key`. */
export function AssetPage(props: {
  detail: AssetDetail;
  history: MaterializationRecord[];
  schemaFrom: MaterializationRecord | null;
  /** The table the asset writes, when the definitions can read it (`tableOf` / `readTable` hooks). */
  table?: TableRef | undefined;
  /** The definitions' additions to the page: the metrics they plot first, and their drawn sections. */
  leadingMetrics?: readonly string[] | undefined;
  sections: AssetPageSection[];
}) {
  const d = props.detail;
  const { sections } = props;
  const latestMeta = d.latest?.metadata ?? {};
  const schema = props.schemaFrom?.metadata.table_schema;
  const numericKeys = orderMetrics(
    props.history.flatMap((m) => Object.keys(numericMetadata(m.metadata))),
    props.leadingMetrics,
  );
  const plotted = new Set(numericKeys.slice(0, DEFAULT_PLOTTED));
  return (
    <Page title={d.key} scripts={['/vendor/uplot.js', '/static/asset.js']} styles={['/vendor/uplot.css']}>
      <div class="title-row">
        <h1>{d.key}</h1>
        <StatusPill status={d.status} />
      </div>
      {d.description ? <p class="description">{d.description}</p> : null}
      {d.first_cause ? <p class="cause">{`Why not fresh: ${d.first_cause}`}</p> : null}

      <form id={ID.launchForm} class="launch" data-selection={d.key}>
        <button type="submit" class="primary">
          Materialize
        </button>
        {d.partitions_def ? (
          <input name="partition" type="text" placeholder="partition (optional), e.g. store=north" />
        ) : null}
        <label class="inline">
          <input type="checkbox" name="staleOnly" /> stale only
        </label>
        <span id={ID.launchMessage} class="muted" />
      </form>

      <section class="cols">
        <table class="kv">
          <tbody>
            <tr>
              <th>group</th>
              <td>{d.group}</td>
            </tr>
            <tr>
              <th>kinds</th>
              <td>{d.kinds.join(', ') || '-'}</td>
            </tr>
            <tr>
              <th>owners</th>
              <td>{d.owners.join(', ') || '-'}</td>
            </tr>
            <tr>
              <th>tags</th>
              <td>
                {Object.entries(d.tags)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ') || '-'}
              </td>
            </tr>
            {d.written_by ? (
              <tr>
                <th>written by</th>
                <td>
                  {`step ${d.written_by.step}, together with `}
                  {d.written_by.assets
                    .filter((k) => k !== d.key)
                    .map((k, i) => (
                      <>
                        {i > 0 ? ', ' : ''}
                        <a href={`/assets/${k}`}>{k}</a>
                      </>
                    ))}
                </td>
              </tr>
            ) : null}
            <tr>
              <th>code version</th>
              <td>
                <code>{d.code_version}</code>
              </td>
            </tr>
            <tr>
              <th>latest data version</th>
              <td>
                <code>{d.latest?.data_version ?? '-'}</code>
                {d.latest ? (
                  <span class="muted">{` ${formatTs(d.latest.ts)}${partitionLabel(d.latest.partition_key)}`}</span>
                ) : null}
              </td>
            </tr>
            <tr>
              <th>partitions</th>
              <td>
                {d.partitions_def ? `${d.partitions_def.kind}: ${d.partitions_def.dimensions.join(' × ')}` : 'none'}
              </td>
            </tr>
            <tr>
              <th>defined in</th>
              <td>
                <code>{d.source_file}</code>
              </td>
            </tr>
          </tbody>
        </table>
        <div class="links">
          <h3>Upstream</h3>
          <ul>
            {d.upstream.length === 0 ? <li class="muted">none</li> : null}
            {d.upstream.map((k) => (
              <li>
                <a href={`/assets/${k}`}>{k}</a>
              </li>
            ))}
          </ul>
          <h3>Downstream</h3>
          <ul>
            {d.downstream.length === 0 ? <li class="muted">none</li> : null}
            {d.downstream.map((k) => (
              <li>
                <a href={`/assets/${k}`}>{k}</a>
              </li>
            ))}
          </ul>
        </div>
      </section>

      {d.freshness ? (
        <FreshnessSection freshness={d.freshness} partitioned={d.partitions_def !== null} assetKey={d.key} />
      ) : null}

      {d.partitions_def ? (
        <section>
          <h2>Partitions</h2>
          <PartitionsGrid detail={d} />
        </section>
      ) : null}

      <section>
        <h2>Why</h2>
        {d.why.lines.length === 0 ? (
          <p class="muted">No status yet.</p>
        ) : (
          <ul class="why">
            {d.why.lines.map((l) => (
              <li style={`padding-left:${l.depth * 1.2}em`}>
                {l.asset_key !== d.key ? <a href={`/assets/${l.asset_key}`}>{l.text}</a> : l.text}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section>
        <h2>Checks</h2>
        {d.checks.length === 0 ? (
          <p class="muted">
            {d.checks_defined.length === 0
              ? 'No checks defined.'
              : `Not evaluated yet: ${d.checks_defined.map((c) => c.name).join(', ')}`}
          </p>
        ) : (
          <ListTable id="checks" head={['check', 'partition', 'result', 'severity', 'failures', 'description', 'run']}>
            {d.checks.map((c) => (
              <tr>
                <td>{c.check_name}</td>
                <td>{c.partition_key || '-'}</td>
                <td>
                  <span class={`pill check-${c.passed ? 'passed' : c.severity === 'warn' ? 'warn' : 'failed'}`}>
                    {c.passed ? 'passed' : 'failed'}
                  </span>
                </td>
                <td>{`${c.severity}${c.blocking ? ', blocking' : ''}`}</td>
                <td>{c.failures ?? '-'}</td>
                <td>{c.description ?? ''}</td>
                <td>
                  <a href={`/runs/${c.run_id}`}>{c.run_id.slice(-8)}</a>
                </td>
              </tr>
            ))}
          </ListTable>
        )}
      </section>

      <section>
        <h2>Metadata over time</h2>
        {numericKeys.length === 0 ? <p class="muted">No numeric metadata yet.</p> : null}
        {numericKeys.length > DEFAULT_PLOTTED ? (
          <fieldset id={ID.metricPicker} class="metric-picker">
            <legend class="muted">{`Plotted metrics (${numericKeys.length} numeric keys)`}</legend>
            {numericKeys.map((k) => (
              <label class="chip">
                <input type="checkbox" name="metric" value={k} checked={plotted.has(k)} />
                {k}
              </label>
            ))}
          </fieldset>
        ) : null}
        <div id={ID.plotLegend} class="plot-legend" />
        <div
          id={ID.plots}
          class="plots"
          data-key={d.key}
          data-metrics={numericKeys.join(',')}
          data-plotted={[...plotted].join(',')}
        />
      </section>

      {sections.map((section) => (
        <section>
          <h2>{section.title}</h2>
          {raw(section.html)}
        </section>
      ))}

      {props.table ? <TableSection assetKey={d.key} table={props.table} /> : null}

      {schema && schema.type === 'table_schema' ? (
        <section>
          <details>
            <summary>
              <h2>{`Table schema (${schema.value.length} columns)`}</h2>
            </summary>
            <ListTable id="schema" head={['column', 'type', 'nullable']}>
              {schema.value.map((col) => (
                <tr>
                  <td>
                    <code>{col.name}</code>
                  </td>
                  <td>{col.type}</td>
                  <td>{col.nullable === undefined ? '' : col.nullable ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </ListTable>
          </details>
        </section>
      ) : null}

      {d.latest ? (
        <section>
          <h2>Latest metadata</h2>
          <table class="kv" id="latest-metadata">
            <tbody>
              {Object.entries(latestMeta).map(([k, v]) => (
                <tr>
                  <th>{k}</th>
                  <td>
                    <MetadataValueView value={v} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      <section>
        <h2>Materialization history</h2>
        {props.history.length === 0 ? <p class="muted">Never materialized.</p> : null}
        <ListTable id="history" head={['time', 'partition', 'data version', 'numbers', 'run']}>
          {props.history.map((m) => (
            <tr>
              <td>{formatTs(m.ts)}</td>
              <td>{m.partition_key || '-'}</td>
              <td>
                <code>{m.data_version.length > 20 ? `${m.data_version.slice(0, 16)}…` : m.data_version}</code>
              </td>
              <td>
                {Object.entries(numericMetadata(m.metadata))
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ')}
              </td>
              <td>
                <a href={`/runs/${m.run_id}`}>{m.run_id.slice(-8)}</a>
              </td>
            </tr>
          ))}
        </ListTable>
      </section>
    </Page>
  );
}
