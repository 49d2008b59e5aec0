/**
 * The `local` profile on the natively launched stack (SeaweedFS S3, Iceberg REST catalog, Trino),
 * through the real CLI: `fairway stack up` (installing into ~/.cache/fairway/stack on first use),
 * Bronze → Silver on two sample courses, Silver counts checked on Trino against the manifest
 * (the embedded profile's numbers), a stopped S3 server failing the Silver step with a message
 * that names it, recovery after `stack up`, and `stack down` at the end.
 *
 * A stack already answering on the profile's ports (started from another state dir) is reused and
 * left running; the stop-the-S3-server part then is skipped, since that server is not ours to stop.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../framework/integrations/spark/index.ts';
import { findStackJava } from '../../stack/index.ts';
import { fairway, repoRoot } from './helpers.ts';

const SAMPLE = join(repoRoot, '..', 'shared', 'data', 'sample');
const COURSES = (process.env.FAIRWAY_E2E_LOCAL_COURSES ?? 'americanfalls,bradshawfarmgc').split(',');
const DAY = '2025-06-02';
const javaProblem = await findStackJava().then(
  () => undefined,
  (e: Error) => e.message,
);
if (javaProblem) console.warn(`local-stack e2e skipped: ${javaProblem}`);

interface ManifestFile {
  format: string;
  course: string;
  expected_silver_rows: number;
  expected_quarantined_rows: Record<string, number>;
  expected_timestamp_missing: number;
}
interface Summary {
  status: string;
  steps: { asset_key: string; partition_key: string; status: string; reason: string | null }[];
}
interface ServiceStatus {
  service: string;
  pid: number | null;
  running: boolean;
  healthy: boolean;
  detail: string;
  startup_ms?: number | null;
}

const partitionOf = (course: string) => `course_id=${course},ingest_date=${DAY}`;

describe.skipIf(!existsSync(SAMPLE) || javaProblem !== undefined)('local profile on the native stack', () => {
  const home = mkdtempSync(join(tmpdir(), 'fairway-local-stack-'));
  const env = { FAIRWAY_HOME: home, FAIRWAY_PROFILE: 'local', FAIRWAY_LOG_LEVEL: 'warn' };
  const cli = (args: string[]) => fairway(args, { cwd: repoRoot, env });
  const manifest = JSON.parse(readFileSync(join(SAMPLE, 'manifest.json'), 'utf8')) as { files: ManifestFile[] };
  let reused = false;

  /** As in lakehouse-embedded.test.ts: CSV and JSON twins → Silver keeps one copy, quarantine sees both. */
  const expected = (course: string) => {
    const csv = manifest.files.filter((f) => f.course === course && f.format === 'csv');
    const sum = (pick: (f: ManifestFile) => number) => csv.reduce((n, f) => n + pick(f), 0);
    const quarantined: Record<string, number> = {};
    for (const reason of ['nan', 'zero_coordinates', 'swapped', 'out_of_range']) {
      const n = 2 * sum((f) => f.expected_quarantined_rows[reason] ?? 0);
      if (n > 0) quarantined[reason] = n;
    }
    return {
      silver: sum((f) => f.expected_silver_rows),
      missingTs: sum((f) => f.expected_timestamp_missing),
      quarantined,
    };
  };

  const status = async () => {
    const r = await cli(['stack', 'status', '--json']);
    return JSON.parse(String(r.stdout)) as ServiceStatus[];
  };
  const query = async (...sql: string[]) => {
    const r = await cli(['query', '--json', ...sql]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return JSON.parse(String(r.stdout)) as { columns: string[]; rows: unknown[][] }[];
  };
  /** Silver counts of the courses under test, read through Trino. */
  const silverCounts = async () => {
    const list = COURSES.map((c) => `'${c}'`).join(', ');
    const [rows, quarantine, missing] = await query(
      `SELECT course_id, count(*) FROM silver.fact_telemetry_event WHERE course_id IN (${list}) GROUP BY course_id`,
      `SELECT course_id, quarantine_reason, count(*) FROM silver.quarantine_telemetry_event WHERE course_id IN (${list}) GROUP BY 1, 2`,
      `SELECT course_id, count(*) FROM silver.fact_telemetry_event WHERE is_timestamp_missing AND course_id IN (${list}) GROUP BY course_id`,
    );
    const out: Record<string, { silver: number; missingTs: number; quarantined: Record<string, number> }> = {};
    for (const c of COURSES) out[c] = { silver: 0, missingTs: 0, quarantined: {} };
    for (const [c, n] of rows!.rows) out[c as string]!.silver = Number(n);
    for (const [c, n] of missing!.rows) out[c as string]!.missingTs = Number(n);
    for (const [c, reason, n] of quarantine!.rows) out[c as string]!.quarantined[reason as string] = Number(n);
    return out;
  };

  beforeAll(async () => {
    for (const course of COURSES) {
      const target = join(home, 'inbox', course, DAY);
      mkdirSync(target, { recursive: true });
      cpSync(join(SAMPLE, course), target, { recursive: true });
    }
    const before = await status();
    reused = before.every((s) => s.healthy && !s.running);
    if (reused) console.warn('local-stack e2e: reusing the stack already answering on the local profile ports');
  });

  afterAll(async () => {
    if (reused) return;
    const r = await cli(['stack', 'down']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect((await status()).map((s) => s.running)).toEqual([false, false, false]);
  });

  it('stack up starts (installing on first use) S3, the REST catalog and Trino; a second up is a no-op', async () => {
    if (reused) return;
    const started = Date.now();
    const up = await cli(['stack', 'up', '--json']);
    expect(up.exitCode, String(up.stderr).slice(-3000)).toBe(0);
    const rows = JSON.parse(String(up.stdout)) as ServiceStatus[];
    console.info(
      `stack up: ${((Date.now() - started) / 1000).toFixed(1)} s; start-up ${rows
        .map((r) => `${r.service} ${((r.startup_ms ?? 0) / 1000).toFixed(1)} s`)
        .join(', ')}\n${String(up.stderr)}`,
    );
    expect(rows.map((r) => [r.service, r.running, r.healthy])).toEqual([
      ['s3', true, true],
      ['rest', true, true],
      ['trino', true, true],
    ]);

    const again = await cli(['stack', 'up', '--json']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((JSON.parse(String(again.stdout)) as ServiceStatus[]).map((r) => [r.pid, r.startup_ms])).toEqual(
      rows.map((r) => [r.pid, null]),
    );
    expect(String(again.stderr)).toContain('already running');
  });

  it('materializes Bronze (to S3) and Silver (Iceberg via the REST catalog) with the embedded profile’s counts', async () => {
    const r = await cli(['materialize', 'silver.fact_telemetry_event', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(0);
    const summary = JSON.parse(String(r.stdout)) as Summary;
    expect(summary.steps.map((s) => `${s.asset_key} ${s.partition_key} ${s.status}`).sort()).toEqual(
      COURSES.flatMap((c) => [
        `bronze.round_exports ${partitionOf(c)} SUCCESS`,
        `silver.fact_telemetry_event ${partitionOf(c)} SUCCESS`,
      ]).sort(),
    );
    const counts = await silverCounts();
    for (const course of COURSES) expect({ course, ...counts[course] }).toEqual({ course, ...expected(course) });
    // Snapshot ids are 64-bit: read as text through Trino, they match what the step recorded.
    const [snapshots] = await query(
      'SELECT CAST(snapshot_id AS varchar) FROM silver."fact_telemetry_event$snapshots" ORDER BY committed_at DESC LIMIT 1',
    );
    expect(String(snapshots!.rows[0]![0])).toMatch(/^\d+$/);
  });

  it('with the S3 server stopped the Silver step fails naming it; after stack up a rerun succeeds', async () => {
    if (reused) return;
    const course = COURSES[0]!;
    const down = await cli(['stack', 'down', 's3']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    const st = await cli(['stack', 'status', '--json']);
    expect(st.exitCode).toBe(1);
    expect((JSON.parse(String(st.stdout)) as ServiceStatus[]).find((s) => s.service === 's3')).toMatchObject({
      healthy: false,
      running: false,
    });

    const failed = await cli([
      'materialize',
      'silver.fact_telemetry_event',
      '--partition',
      partitionOf(course),
      '--json',
    ]);
    expect(failed.exitCode).toBe(1);
    const step = (JSON.parse(String(failed.stdout)) as Summary).steps[0]!;
    expect(step).toMatchObject({ asset_key: 'silver.fact_telemetry_event', status: 'FAILURE' });
    expect(step.reason).toContain('S3 server');
    expect(step.reason).toContain('fairway stack status');

    const up = await cli(['stack', 'up']);
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const before = await silverCounts();
    const rerun = await cli([
      'materialize',
      'silver.fact_telemetry_event',
      '--partition',
      partitionOf(course),
      '--json',
    ]);
    expect(rerun.exitCode, String(rerun.stderr).slice(-3000)).toBe(0);
    expect(await silverCounts()).toEqual(before);
  });
});

/**
 * docker-compose.yml checked by a real compose implementation: docker-compose 1.29.2 (the Python
 * one, from PyPI) in a venv kept in the Fairway cache. Its PyYAML 5.4.1 pin needs Cython < 3 to
 * build on Python 3.11, hence the three pip steps. Skipped, with the reason, only if that install fails.
 */
describe('docker-compose.yml', () => {
  const venv = join(defaultCacheDir(), 'tools', 'docker-compose-1.29.2');
  const compose = join(venv, 'bin', 'docker-compose');

  const install = async (): Promise<string | undefined> => {
    if (existsSync(join(venv, '.fairway-complete'))) return undefined;
    const pip = join(venv, 'bin', 'pip');
    const steps: [string, string[]][] = [
      ['python3', ['-m', 'venv', '--clear', venv]],
      [pip, ['install', '-q', 'cython<3', 'wheel']],
      [pip, ['install', '-q', '--no-build-isolation', 'pyyaml==5.4.1']],
      [pip, ['install', '-q', 'docker-compose==1.29.2']],
    ];
    for (const [cmd, args] of steps) {
      const r = await execa(cmd, args, { reject: false, all: true });
      if (r.failed) return `${cmd} ${args.join(' ')} failed: ${String(r.all).trim().split('\n').slice(-3).join(' | ')}`;
    }
    writeFileSync(join(venv, '.fairway-complete'), `${new Date().toISOString()}\n`);
    return undefined;
  };

  it('validates with docker-compose config; ports bind 127.0.0.1, images are pinned', async (ctx) => {
    const problem = await install();
    if (problem) {
      console.warn(`docker-compose validation skipped: ${problem}`);
      ctx.skip();
    }
    const r = await execa(compose, ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: repoRoot,
      reject: false,
      env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    });
    expect(r.exitCode, `${r.stderr}`).toBe(0);
    const rendered = await execa(compose, ['-f', 'docker-compose.yml', 'config'], { cwd: repoRoot, reject: false });
    expect(rendered.exitCode, `${rendered.stderr}`).toBe(0);
    const text = String(rendered.stdout);
    // 1.29.2 renders each port as `- <host ip>:<host port>:<container port>/tcp`.
    const ports = [...text.matchAll(/^\s*- ([\d.]+:)?\d+:\d+\/tcp$/gm)].map((m) => m[0].trim());
    expect(ports.length).toBe(5);
    for (const p of ports) expect(p).toMatch(/^- 127\.0\.0\.1:/);
    for (const [, image] of text.matchAll(/image: (\S+)/g)) expect(image).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
    expect(text).toContain('/etc/trino/catalog/lakehouse.properties');
  });
});
