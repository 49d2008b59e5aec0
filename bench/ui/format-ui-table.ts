import type { BenchMachine } from '../machine.ts';

/** Renders a UI results file (see run-ui-bench.ts) as a Markdown table with Dagster/Fairway ratios. */

interface Latency {
  p50: number;
  p99: number;
}
interface Load {
  requests_done?: number;
  requests_planned?: number;
  errors?: number;
  stopped_by_deadline?: boolean;
  requests_per_s?: number;
  latency_ms?: Latency | null;
  timed_out?: string;
}

interface SizeResult {
  load_average?: number[];
  fairway: {
    server_start_s: number;
    first_graph_request_ms: number;
    graph_bytes: number;
    render: { median_ms: number; response_end_ms: number };
    api_graph: Load;
  };
  dagster:
    | (Load & {
        error?: string;
        timed_out?: string;
        location_loaded_s?: number;
        first_graph_request_ms?: number;
        graph_bytes?: number;
        live_batch_ms?: { batch_size: number; median: number | null };
        graph_query?: Load;
      })
    | null;
}

export interface UiResults {
  date: string;
  machine: BenchMachine;
  options: { clients: number };
  sizes: Record<string, SizeResult>;
}

const ms = (x: number | null | undefined) =>
  x === null || x === undefined ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`;
const kb = (b: number | undefined) => (b === undefined ? '-' : `${(b / 1024).toFixed(0)} KB`);
const ratio = (dagster: number | undefined | null, fairway: number | undefined | null) =>
  dagster && fairway ? `${(dagster / fairway).toFixed(1)}x` : '-';

function loadCell(l: Load | undefined, pick: (x: Latency) => number): string {
  if (!l) return '-';
  if (l.timed_out) return 'timed out';
  if (!l.latency_ms) return `no answer (${l.errors ?? 0} errors)`;
  const partial = l.stopped_by_deadline ? ` (${l.requests_done}/${l.requests_planned} before cap)` : '';
  return `${ms(pick(l.latency_ms))}${partial}`;
}

/** Markdown table: one block of rows per graph size. */
export function formatUiTable(r: UiResults): string {
  const m = r.machine;
  const head = `${r.date.slice(0, 10)} · ${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB · ${m.os} · Node ${m.node} · commit ${m.git_commit.slice(0, 7)} · load average at start ${m.load_average_at_start.join(' ')}`;
  const rows: string[][] = [['assets', 'measure', 'Fairway', 'Dagster', 'Dagster / Fairway']];
  for (const [size, s] of Object.entries(r.sizes)) {
    const n = Number(size).toLocaleString('en-US');
    const f = s.fairway;
    const d = s.dagster;
    const dq = d?.graph_query;
    const dNote = d?.error ? `error: ${d.error.slice(0, 60)}` : d?.timed_out ? `timed out (${d.timed_out})` : undefined;
    rows.push([n, 'lineage page first render (Chromium, median)', ms(f.render.median_ms), '-', '-']);
    rows.push([
      n,
      'server ready (start → definitions loaded)',
      `${f.server_start_s} s`,
      d?.location_loaded_s ? `${d.location_loaded_s} s` : (dNote ?? '-'),
      ratio(d?.location_loaded_s, f.server_start_s),
    ]);
    rows.push([
      n,
      'first graph request (cold)',
      ms(f.first_graph_request_ms),
      ms(d?.first_graph_request_ms),
      ratio(d?.first_graph_request_ms, f.first_graph_request_ms),
    ]);
    rows.push([n, 'graph response size', kb(f.graph_bytes), kb(d?.graph_bytes), '-']);
    rows.push([
      n,
      `graph p50, ${r.options.clients} clients`,
      loadCell(f.api_graph, (l) => l.p50),
      dNote ?? loadCell(dq, (l) => l.p50),
      ratio(dq?.latency_ms?.p50, f.api_graph.latency_ms?.p50),
    ]);
    rows.push([
      n,
      `graph p99, ${r.options.clients} clients`,
      loadCell(f.api_graph, (l) => l.p99),
      dNote ?? loadCell(dq, (l) => l.p99),
      ratio(dq?.latency_ms?.p99, f.api_graph.latency_ms?.p99),
    ]);
    rows.push([
      n,
      'graph throughput',
      `${f.api_graph.requests_per_s ?? '-'} req/s`,
      dq?.requests_per_s !== undefined ? `${dq.requests_per_s} req/s` : '-',
      ratio(f.api_graph.requests_per_s, dq?.requests_per_s),
    ]);
    if (d?.live_batch_ms?.median) {
      rows.push([
        n,
        `Dagster status query, one batch of ${d.live_batch_ms.batch_size} keys`,
        '(in graph)',
        ms(d.live_batch_ms.median),
        '-',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (i === 1 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [head, '', line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}
