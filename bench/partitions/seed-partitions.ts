/**
 * Seeds a state directory with N partitions of `silver.t` (and optionally `gold.t`) through the store's
 * own write path, as runs record them: one run per day, a step attempt and a materialization per
 * partition carrying the metadata a real Silver materialization has (26 entries, ~6 KB), or a small set.
 *
 * Usage: node --import tsx bench/partitions/seed-partitions.ts <repo> <state-dir> <spec.json>
 * `repo` is the checkout whose store writes (so code before a change seeds its own schema).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchMetadata, type PartitionBenchSpec, partitionKey } from './spec.ts';

const [repo, stateDir, specFile] = process.argv.slice(2);
if (!repo || !stateDir || !specFile) throw new Error('usage: seed-partitions.ts <repo> <state-dir> <spec.json>');
const spec = JSON.parse(readFileSync(specFile, 'utf8')) as PartitionBenchSpec;
const storage = (await import(pathToFileURL(join(repo, 'framework', 'storage', 'index.ts')).href)) as {
  openStore(path: string): {
    createRun(r: unknown): void;
    recordStepAttempt(a: unknown): void;
    recordMaterialization(m: unknown): number;
    close(): void;
  };
  defaultStorePath(dir: string): string;
};

const store = storage.openStore(storage.defaultStorePath(stateDir));
const metadata = benchMetadata(spec.metadata ?? 'silver');
const day0 = Date.parse(`${spec.start}T00:00:00Z`);
const assets = spec.chain ? ['silver.t', 'gold.t'] : ['silver.t'];
let written = 0;
for (let d = 0; d < spec.days; d++) {
  const runId = `seed-${d}`;
  const ts = new Date(day0 + d * 86_400_000 + 3_600_000).toISOString();
  const partitions: string[] = [];
  for (let c = 0; c < spec.courses; c++) {
    if (d === spec.days - 1 && c >= spec.courses - spec.missing) continue;
    partitions.push(partitionKey(spec, c, d));
  }
  store.createRun({
    run_id: runId,
    selection: '*',
    partition: null,
    stale_only: true,
    status: 'SUCCESS',
    reason: null,
    pid: null,
    hostname: null,
    created_at: ts,
    started_at: ts,
    finished_at: ts,
    heartbeat_at: ts,
    plan: [],
    tags: {},
  });
  for (const p of partitions) {
    const version = `v-${p}`;
    for (const key of assets) {
      store.recordStepAttempt({
        asset_key: key,
        partition_key: p,
        run_id: runId,
        status: 'SUCCESS',
        started_at: ts,
        finished_at: ts,
        duration_ms: 1200,
        attempts: 1,
        reason: null,
      });
      store.recordMaterialization({
        asset_key: key,
        partition_key: p,
        run_id: runId,
        ts,
        data_version: version,
        code_version: 'v1',
        input_versions: key === 'gold.t' ? { 'silver.t': version } : {},
        deps: key === 'gold.t' ? ['silver.t'] : [],
        metadata,
      });
    }
    written++;
  }
  if (d % 100 === 0) process.stderr.write(`[seed] day ${d + 1}/${spec.days}: ${written} partitions\n`);
}
store.close();
process.stdout.write(`${JSON.stringify({ partitions: written })}\n`);
