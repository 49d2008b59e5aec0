/** Renders a Silver results file (see run-silver-bench.ts) as a Markdown table. */

interface Throughput {
  seconds: number;
  mb_per_s: number;
  rounds_per_min: number;
  rows_per_s: number;
}

export interface SilverResults {
  suite: 'silver';
  date: string;
  machine: {
    cpu_model: string;
    cores: number;
    memory_gb: number;
    os: string;
    node: string;
    python: string;
    java: string;
    git_commit: string;
    load_average_at_start: number[];
    load_average_at_end: number[];
  };
  input: { bytes: number; csv_bytes: number; format: string; files: string[] };
  target_rounds_per_min: number;
  spark: {
    counts: { rounds: number; real_rows: number };
    spark_startup_ms: number;
    cpu_s: number | null;
    end_to_end: Throughput;
    excluding_startup: Throughput;
    runs: { stages_ms: Record<string, number> }[];
  };
  duckdb:
    | { whole_process: Throughput; copy_only: Throughput; cpu_s: number | null; version: string }
    | { skipped: string };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/** Markdown header line + table; the target column compares rounds/min with the issue's 10x target. */
export function formatSilverTable(r: SilverResults): string {
  const m = r.machine;
  const header =
    `${r.date} · ${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB · ${m.os} · Node ${m.node} · ${m.python} · ` +
    `${m.java} · commit ${m.git_commit.slice(0, 7)} · load average ${m.load_average_at_start.join(' ')} → ` +
    `${m.load_average_at_end.join(' ')}\n\n` +
    `input: ${(r.input.bytes / 1e6).toFixed(1)} MB (${r.input.format}, ${r.input.files.length} files), ` +
    `${int(r.spark.counts.rounds)} rounds, ${int(r.spark.counts.real_rows)} location rows; ` +
    `Spark start-up ${(r.spark.spark_startup_ms / 1000).toFixed(1)} s\n\n`;
  const target = (t: Throughput) =>
    `${t.rounds_per_min >= r.target_rounds_per_min ? 'met' : 'NOT met'} (${(t.rounds_per_min / r.target_rounds_per_min).toFixed(2)}x)`;
  const row = (name: string, t: Throughput, cpu: string, withTarget: boolean) => [
    name,
    `${t.seconds.toFixed(1)} s`,
    cpu,
    t.mb_per_s.toFixed(2),
    int(t.rounds_per_min),
    int(t.rows_per_s),
    withTarget ? target(t) : '',
  ];
  const cpu = (s: number | null) => (s === null ? '-' : `${s.toFixed(1)} s`);
  const rows = [
    ['run', 'wall', 'CPU', 'MB/s', 'rounds/min', 'location rows/s', `≥ ${int(r.target_rounds_per_min)} rounds/min`],
    row('Silver job, whole process', r.spark.end_to_end, cpu(r.spark.cpu_s), true),
    row('Silver job, excluding Spark start-up', r.spark.excluding_startup, '', true),
  ];
  let ratio = '';
  if ('whole_process' in r.duckdb) {
    rows.push(row(`DuckDB ${r.duckdb.version}, whole process`, r.duckdb.whole_process, cpu(r.duckdb.cpu_s), false));
    rows.push(row('DuckDB, COPY only', r.duckdb.copy_only, '', false));
    const x = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
    ratio =
      `\n\nSpark / DuckDB: ${x(r.spark.end_to_end.seconds, r.duckdb.whole_process.seconds)} wall (whole processes), ` +
      `${x(r.spark.excluding_startup.seconds, r.duckdb.copy_only.seconds)} (job without start-up vs COPY)` +
      (r.spark.cpu_s !== null && r.duckdb.cpu_s !== null ? `, ${x(r.spark.cpu_s, r.duckdb.cpu_s)} CPU` : '');
  }
  const stages = r.spark.runs[0]?.stages_ms ?? {};
  const stageLine = Object.keys(stages).length
    ? `\n\nSilver stages (first run): ${Object.entries(stages)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}`
    : '';
  return header + pad(rows) + ratio + stageLine;
}
