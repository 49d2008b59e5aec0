import { mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import {
  type AssetDefinition,
  asset,
  dailyPartitions,
  hashText,
  md,
  multiPartitions,
  staticPartitions,
} from '../framework/definitions/index.ts';
import { FrameworkError } from '../framework/errors/index.ts';
import { ingestBronzePartition } from './lib/bronze.ts';
import { discoverInbox, type InboxPartition, inboxFilesVersion } from './lib/inbox.ts';

type Inbox = Awaited<ReturnType<typeof discoverInbox>> & { byKey: Map<string, InboxPartition> };

import type { Lakehouse } from './lib/lakehouse.ts';

/**
 * `bronze.round_exports`: export files from the inbox, validated cheaply and copied byte for byte to
 * `course_id=<id>/ingest_date=<day>/<file>` in the landing bucket. Partitioned by course × ingest day.
 */
export function bronzeAssets(lake: Lakehouse): AssetDefinition<string, unknown>[] {
  const cfg = lake.config;
  /** The inbox as last scanned, with its partitions by `course_id|ingest_date`. */
  let inbox: Promise<Inbox> | undefined;
  /** The run the inbox was last scanned for: a run scans it once, not once per partition (650 a day). */
  let scannedForRun: string | undefined;
  const scan = () => {
    mkdirSync(cfg.inboxDir, { recursive: true });
    // entries that fit no partition are not skipped: `rejectedInputs` reports them and fails the run
    inbox ??= discoverInbox(cfg.inboxDir).then((found) => ({
      ...found,
      byKey: new Map(found.partitions.map((p) => [`${p.course_id}|${p.ingest_date}`, p])),
    }));
    return inbox;
  };
  const quarantinePrefix = cfg.prefixes.quarantine ? cfg.prefixes.quarantine.replace(/\/?$/, '/') : '';
  const partitions = multiPartitions(
    staticPartitions('course_id', async () => [...new Set((await scan()).partitions.map((p) => p.course_id))]),
    dailyPartitions('ingest_date', '2020-01-01'),
    async () => (await scan()).partitions.map((p) => `course_id=${p.course_id},ingest_date=${p.ingest_date}`),
  );

  /** Data version of everything landed in a partition: the files Silver will read. */
  const landedVersion = async (courseId: string, ingestDate: string) => {
    const prefix = lake.bronzePrefix(courseId, ingestDate);
    const objects = await lake.store.list(cfg.buckets.landing, prefix);
    const pairs: string[] = [];
    for (const o of objects) {
      const head = await lake.store.head(cfg.buckets.landing, o.key);
      pairs.push(o.key.slice(prefix.length), head?.sha256 ?? String(o.size));
    }
    return { files: objects.length, version: hashText(...pairs) };
  };

  const exportsAsset = asset({
    key: 'bronze.round_exports',
    description:
      'Round exports (wide CSV with locations[N].* columns, or MongoDB JSON) as delivered, one object per file. ' +
      'Cheap validation only; invalid files are quarantined with a JSON report and fail the step while valid ' +
      'files still land. A file still being written (changed within FAIRWAY_BRONZE_SETTLE_SECONDS) is left for ' +
      'a later run with a warning. Idempotent by content: the same bytes again are a no-op.',
    group: 'bronze',
    kinds: ['file', cfg.storage.kind === 's3' ? 's3' : 'local'],
    owners: ['data-eng'],
    tags: { layer: 'bronze' },
    partitions,
    freshness: { maxLag: { warnAfterMinutes: 15, failAfterMinutes: 30 } }, // landed within 30 min of arriving
    // The inbox files of a partition as they are now: a changed or added file makes it STALE. Judged from
    // names, sizes and modification times, never contents: status and every daemon tick observe each
    // partition, and reading every export again on each would grow with the inbox (a year of a 650-course
    // operator is ~240k files). A file touched but unchanged re-runs Bronze, which lands nothing new.
    observe: async ({ partition }) => {
      const found = (await scan()).byKey.get(`${partition.course_id}|${partition.ingest_date}`);
      return found ? inboxFilesVersion(found.files) : undefined;
    },
    rejectedInputs: async ({ runId }) => {
      const { invalid } = await scan();
      if (invalid.length === 0) return [];
      const reports = `${quarantinePrefix}bronze/rejected`;
      await lake.store.ensureBucket(cfg.buckets.quarantine);
      return Promise.all(
        invalid.map(async (bad) => {
          const path = relative(cfg.inboxDir, bad.path) || bad.path;
          const report = { path, reason: bad.reason, run_id: runId, ts: new Date().toISOString() };
          // one report per entry, rewritten by later runs (not a new one each run)
          const key = `${reports}/${path.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
          await lake.store.put(cfg.buckets.quarantine, key, `${JSON.stringify(report)}\n`, {
            contentType: 'application/json',
          });
          return {
            path: `${cfg.inboxDir}/${path}`,
            reason: bad.reason,
            report: lake.store.uri(cfg.buckets.quarantine, reports),
          };
        }),
      );
    },
    materialize: async (ctx) => {
      if (scannedForRun !== ctx.runId) {
        inbox = undefined; // rescan: files may have arrived since definitions were loaded
        scannedForRun = ctx.runId;
      }
      const courseId = ctx.partition.course_id!;
      const ingestDate = ctx.partition.ingest_date!;
      const found = (await scan()).byKey.get(`${courseId}|${ingestDate}`);
      const result = await ingestBronzePartition({
        store: lake.store,
        bucket: cfg.buckets.landing,
        course_id: courseId,
        ingest_date: ingestDate,
        files: found?.files ?? [],
        runId: ctx.runId,
        quarantineBucket: cfg.buckets.quarantine,
        landingPrefix: lake.landingPrefix,
        quarantinePrefix,
        courses: lake.courses,
        settleSeconds: cfg.bronzeSettleSeconds,
        log: ctx.log,
      });
      for (const l of result.landed)
        ctx.computeLog(`${l.status.padEnd(9)} ${l.name} (${l.bytes} bytes, ${l.rounds} rounds)`);
      for (const w of result.warnings) ctx.computeLog(`warning   ${w.name}: ${w.details}`);
      const landed = await landedVersion(courseId, ingestDate);
      if (result.quarantined.length > 0) {
        const list = result.quarantined.map((q) => `${q.name} (${q.reason}: ${q.details}) → ${q.reportKey}`).join('; ');
        throw new FrameworkError(
          'BRONZE_FILES_QUARANTINED',
          `${result.quarantined.length} file(s) of course_id=${courseId}, ingest_date=${ingestDate} were quarantined: ${list}. ` +
            `${result.landed.length} valid file(s) landed. Fix or remove the bad files in ${cfg.inboxDir} and materialize again.`,
        );
      }
      const unsettled = result.warnings.filter((w) => w.kind === 'unsettled');
      if (landed.files === 0 && unsettled.length > 0) {
        throw new FrameworkError(
          'BRONZE_FILES_UNSETTLED',
          `Nothing landed for course_id=${courseId}, ingest_date=${ingestDate}: ${unsettled.map((w) => w.details).join('; ')}. ` +
            'Materialize again once the files are complete.',
        );
      }
      if (landed.files === 0) {
        throw new FrameworkError(
          'BRONZE_NO_FILES',
          `No export files for course_id=${courseId}, ingest_date=${ingestDate} in ${cfg.inboxDir} and none landed before.`,
        );
      }
      const count = (s: string) => result.landed.filter((l) => l.status === s).length;
      return {
        dataVersion: landed.version,
        metadata: {
          files: md.int(landed.files),
          files_new: md.int(count('new')),
          files_changed: md.int(count('changed')),
          files_unchanged: md.int(count('unchanged')),
          rounds: md.int(result.landed.reduce((n, l) => n + l.rounds, 0)),
          bytes: md.int(result.landed.reduce((n, l) => n + l.bytes, 0)),
          course_mismatch_warnings: md.int(result.warnings.length - unsettled.length),
          files_unsettled: md.int(unsettled.length),
          path: md.path(
            lake.store.uri(cfg.buckets.landing, lake.bronzePrefix(courseId, ingestDate).replace(/\/$/, '')),
          ),
        },
      };
    },
  });
  return [exportsAsset];
}
