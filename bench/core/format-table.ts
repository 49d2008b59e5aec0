import type { BenchMachine } from '../machine.ts';

/** Renders a core results file (see run-core-bench.ts) as a Markdown table with Fairway/Dagster ratios. */

interface Timed {
  median_s?: number;
  cpu_median_s?: number | null;
  steps_per_s?: number;
  reads_median_s?: number;
  compute_median_s?: number;
  status_s?: number;
  timed_out_after_s?: number;
  skipped?: string;
}

type Side = Record<string, Timed | undefined>;

interface SizeResult {
  fairway: Side;
  dagster?: Side;
}

export interface CoreResults {
  date: string;
  machine: BenchMachine;
  sizes: Record<string, SizeResult>;
}

const seconds = (s: number) => (s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms` : `${s.toFixed(2)} s`);

function cell(t: Timed | undefined, pick: (t: Timed) => number | undefined): string {
  if (!t) return '-';
  if (t.timed_out_after_s !== undefined) return `timed out after ${t.timed_out_after_s} s`;
  if (t.skipped) return 'not run';
  const v = pick(t);
  return v === undefined ? '-' : seconds(v);
}

/** Targets from the issue: operation → minimum Dagster/Fairway ratio, and at which size it is judged. */
const TARGETS: Record<string, { ratio: number; size: string }> = {
  staleness: { ratio: 50, size: '10000' },
  single: { ratio: 10, size: 'any' },
  run: { ratio: 20, size: '1000' },
};

const ROWS: {
  op: string;
  label: string;
  fairway: (t: Timed) => number | undefined;
  dagster: (t: Timed) => number | undefined;
}[] = [
  { op: 'list', label: 'list (whole process)', fairway: (t) => t.median_s, dagster: () => undefined },
  { op: 'status', label: 'status (whole process)', fairway: (t) => t.median_s, dagster: () => undefined },
  {
    op: 'staleness',
    label: 'staleness, all keys (in process)',
    fairway: (t) => t.median_s,
    dagster: (t) => t.status_s,
  },
  {
    op: 'single',
    label: 'materialize one asset (whole process)',
    fairway: (t) => t.median_s,
    dagster: (t) => t.median_s,
  },
  { op: 'run', label: "materialize '*' (whole process)", fairway: (t) => t.median_s, dagster: (t) => t.median_s },
];

/** One Markdown table per results file: rows per size and operation. */
export function formatTable(r: CoreResults): string {
  const m = r.machine;
  const lines = [
    `${r.date.slice(0, 10)} · ${m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB · ${m.os} · Node ${m.node} · ` +
      `commit ${m.git_commit.slice(0, 7)} · load average at start ${m.load_average_at_start.join(' ')}`,
    '',
    '| assets | operation | Fairway | Dagster | Dagster / Fairway | target |',
    '|---:|---|---:|---:|---:|---|',
  ];
  for (const [size, s] of Object.entries(r.sizes)) {
    for (const row of ROWS) {
      const f = s.fairway[row.op];
      if (!f) continue;
      // Dagster has no `status` CLI; its load is `dagster asset list`, the equivalent of `fairway list`.
      const d = s.dagster?.[row.op === 'list' ? 'load' : row.op];
      const dPick = row.op === 'list' ? (t: Timed) => t.median_s : row.dagster;
      const fv = row.fairway(f);
      const dv = d && d.timed_out_after_s === undefined && !d.skipped ? dPick(d) : undefined;
      const ratio = fv && dv ? dv / fv : undefined;
      let extra = '';
      if (row.op === 'staleness' && f.reads_median_s !== undefined) {
        extra = ` (reads ${seconds(f.reads_median_s)} + compute ${seconds(f.compute_median_s ?? 0)})`;
      }
      if (row.op === 'run' && f.steps_per_s) extra = ` (${f.steps_per_s.toFixed(0)} steps/s)`;
      const dExtra = row.op === 'run' && d?.steps_per_s ? ` (${d.steps_per_s.toFixed(1)} steps/s)` : '';
      const target = TARGETS[row.op];
      let verdict = '';
      if (target && (target.size === 'any' || target.size === size)) {
        verdict =
          ratio === undefined
            ? `≥ ${target.ratio}x: not measured`
            : `≥ ${target.ratio}x: ${ratio >= target.ratio ? 'met' : 'NOT met'}`;
      }
      lines.push(
        `| ${Number(size).toLocaleString('en-US')} | ${row.label} | ${cell(f, row.fairway)}${extra} | ${d ? cell(d, dPick) : '-'}${dExtra} | ${ratio ? `${ratio.toFixed(1)}x` : '-'} | ${verdict} |`,
      );
    }
  }
  return lines.join('\n');
}
