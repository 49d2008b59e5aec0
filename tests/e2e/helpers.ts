import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fairwayBin = join(repoRoot, 'bin', 'fairway.js');

/** Copies the example project into a temp dir so a test may edit it. */
export function tempExampleProject(): { dir: string; definitions: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-e2e-'));
  cpSync(join(repoRoot, 'examples', 'hello'), join(dir, 'examples', 'hello'), { recursive: true });
  const definitions = join(dir, 'examples', 'hello', 'definitions.ts');
  const text = readFileSync(definitions, 'utf8')
    .replaceAll("'../../framework/", `'${repoRoot}/framework/`)
    .replace("join(here, '..', '..', 'spark')", JSON.stringify(join(repoRoot, 'spark')));
  writeFileSync(definitions, text);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { dir, definitions, stateDir: join(dir, '.fairway') };
}

/**
 * Runs the real CLI as a user would. NO_COLOR: picocolors colours output whenever `CI` is set, and
 * tests match plain text.
 */
export function fairway(args: string[], opts: Options & { cwd: string }) {
  return execa('node', [fairwayBin, ...args], {
    reject: false,
    ...opts,
    env: { FAIRWAY_LOG_LEVEL: 'warn', NO_COLOR: '1', ...opts.env },
  });
}

/**
 * `fairway <args> ui --port 0` as a user would start it, once it listens: its URL, `get` (JSON, with the
 * status) and `stop` (SIGTERM, then waits for the exit).
 */
export async function startUi(args: string[], opts: Options & { cwd: string }) {
  const sub = fairway([...args, 'ui', '--port', '0'], opts);
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    sub.stderr?.on('data', (chunk: Buffer) => {
      stderr += String(chunk);
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void sub.then((r) => reject(new Error(`fairway ui exited with ${r.exitCode}: ${stderr.slice(-2000)}`)));
  });
  return {
    url,
    get: async (path: string) => {
      const res = await fetch(`${url}${path}`);
      const body = (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } };
      return { status: res.status, body };
    },
    stop: async () => {
      sub.kill('SIGTERM');
      await sub;
    },
  };
}

/** The shared sample set (`../shared/data/sample`): exports of five courses and their manifest. */
export const SAMPLE_DIR = join(repoRoot, '..', 'shared', 'data', 'sample');

/** One file of the sample's manifest.json, with the counts the lakehouse must produce from it. */
export interface SampleManifestFile {
  path: string;
  format: string;
  course: string;
  expected_silver_rows: number;
  expected_quarantined_rows: Record<string, number>;
  expected_timestamp_missing: number;
}

export function readSampleManifest(): { files: SampleManifestFile[] } {
  return JSON.parse(readFileSync(join(SAMPLE_DIR, 'manifest.json'), 'utf8')) as { files: SampleManifestFile[] };
}

/** Silver's counts for one course, as `expectedSilverCounts` derives them and the tests read them back. */
export interface SilverCounts {
  silver: number;
  missingTs: number;
  quarantined: Record<string, number>;
}

/**
 * What Silver must hold for one course of the sample: CSV and JSON twins hold the same rounds, so Silver
 * keeps one copy (the CSV files' expected rows) and quarantine sees both (twice the CSV files' reasons).
 */
export function expectedSilverCounts(files: readonly SampleManifestFile[], course: string): SilverCounts {
  const csv = files.filter((f) => f.course === course && f.format === 'csv');
  const sum = (pick: (f: SampleManifestFile) => number) => csv.reduce((n, f) => n + pick(f), 0);
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
}
