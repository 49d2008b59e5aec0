/**
 * Reads the latest materialization of every partition of one asset, with full metadata and as heads
 * (only `source_version`). Usage: node --import tsx bench/store/latest-heads.ts [partitions]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { md } from '../../framework/definitions/index.ts';
import { openStore } from '../../framework/storage/index.ts';

const n = Number(process.argv[2] ?? 100000);
const store = openStore(join(mkdtempSync(join(tmpdir(), 'heads-')), 'fairway.db'));
const metadata: Record<string, unknown> = { source_version: md.text('abc') };
for (let i = 0; i < 24; i++)
  metadata[`k${i}`] = md.json({ values: Array.from({ length: 30 }, (_, j) => j * 1.5), name: `entry ${i}` });
console.log('metadata bytes', JSON.stringify(metadata).length);
const t0 = performance.now();
for (let i = 0; i < n; i++)
  store.recordMaterialization({
    asset_key: 'silver.t',
    partition_key: `course_id=c${i % 650},ingest_date=d${Math.floor(i / 650)}`,
    run_id: 'r',
    ts: new Date().toISOString(),
    data_version: `v${i}`,
    code_version: 'c',
    input_versions: { 'bronze.x': 'v' },
    deps: ['bronze.x'],
    metadata: metadata as never,
  });
console.log('seed s', ((performance.now() - t0) / 1000).toFixed(1));
for (const which of [
  'latestMaterializations',
  'latestMaterializationHeads',
  'latestMaterializations',
  'latestMaterializationHeads',
] as const) {
  const t = performance.now();
  const m = store[which](['silver.t']);
  console.log(
    which,
    m.get('silver.t')!.size,
    ((performance.now() - t) / 1000).toFixed(2),
    's',
    'heap MB',
    Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  );
}
