import { lazySchema } from '../validation/index.ts';
import { withBusyRetry } from './busy-retry.ts';
import { MATERIALIZED_KEY_LOG_LIMIT, REBUILD_PARTITION_STATE_AND_GENERATIONS } from './migrations.ts';
import { ATTEMPT_COLUMNS, decodeAttempts, decodeHeads, HEAD_COLUMNS } from './partition-state-rows.ts';
import type { CheckEvaluationRecord, MaterializationRecord, StepAttemptRecord } from './rows.ts';
import { byKeyAndPartition, decodeCheckEvaluations, decodeMaterializations, json } from './rows.ts';
import type { SqliteDb } from './sqlite-db.ts';
import type {
  KeyRange,
  KnownKeyCheck,
  MaterializedKeyChange,
  MaterializedKeyRun,
  PartitionScope,
  PartitionStateStorage,
  StalenessCandidateSpec,
} from './types.ts';

/**
 * Reads of the per-partition state (`asset_partitions`, `latest_check_evaluations`: the latest
 * materialization, attempt and check results of every asset partition, kept in the transaction that records
 * them): what status, staleness, planning, the daemon and the UI read, in proportion to what they ask for.
 */
/** A kept known key check as stored (`known_key_checks`). */
const keptCheck = lazySchema((z) =>
  z.object({
    generation: z.number().int(),
    known: z.string(),
    missing: z.array(z.string()),
    extra: z.array(z.string()),
  }),
);

const parseJson = (text: string | null): unknown => {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined; // not JSON: the schema rejects it
  }
};

export function sqlitePartitionStateStorage(db: SqliteDb): PartitionStateStorage {
  /**
   * The candidates of an asset without upstreams: the same conditions as the scan, each an index range, so
   * only the rows that match are read. `x IS NOT v` (v not null) is `x < v`, `x > v` or `x IS NULL`.
   */
  function versionCandidates(key: string, spec: StalenessCandidateSpec): string[] {
    const versions = `SELECT partition_key FROM asset_partitions INDEXED BY idx_asset_partitions_versions
                      WHERE asset_key = @key AND materialization_id IS NOT NULL AND`;
    const sql = [
      ...['code_version < @code', 'code_version > @code', 'code_version IS NULL'],
      ...['deps < @deps', 'deps > @deps', 'deps IS NULL'].map((d) => `code_version = @code AND ${d}`),
    ]
      .map((condition) => `${versions} ${condition}`)
      .concat(
        `SELECT partition_key FROM asset_partitions INDEXED BY idx_asset_partitions_attempts
         WHERE asset_key = @key AND attempt_status IN ('RUNNING', 'FAILURE', 'CANCELED')
           AND materialization_id IS NOT NULL
           AND (attempt_status = 'RUNNING' OR coalesce(attempt_finished_at, '') > ts)`,
      )
      .join(' UNION ALL ');
    const rows = withBusyRetry(
      () => db.pluck(sql).all({ key, code: spec.codeVersion, deps: spec.depsJson }) as string[],
    );
    // a partition both of another version and with a newer failure is listed twice; the scan's order
    return [...new Set(rows)].sort();
  }

  /**
   * The latest-per-key read every state read is: `select` from `from` (whose state table has the alias `at`)
   * for the assets `keys`, scoped to some partitions when asked, by asset and partition (and `orderBy`).
   */
  function latestPerKey(
    read: 'all' | 'raw',
    q: { select: string; from: string; at: string; where?: string; orderBy?: string },
    keys: string[],
    scope: PartitionScope,
  ): unknown[] {
    if (keys.length === 0) return [];
    const at = q.at ? `${q.at}.` : '';
    const sql = `SELECT ${q.select} FROM ${q.from}
                 WHERE ${at}asset_key IN (SELECT value FROM json_each(?)) ${q.where ? `AND ${q.where}` : ''}
                   ${scope.partitions ? `AND ${at}partition_key IN (SELECT value FROM json_each(?))` : ''}
                 ORDER BY ${at}asset_key, ${at}partition_key${q.orderBy ? `, ${q.orderBy}` : ''}`;
    const params = scope.partitions ? [json(keys), json(scope.partitions)] : [json(keys)];
    return withBusyRetry(() => db[read](sql, ...params));
  }

  /** Rows of the partition state of `keys` that have a `present` record (a materialization or an attempt). */
  const partitionState = (columns: string, present: string, keys: string[], scope: PartitionScope) =>
    latestPerKey(
      'raw',
      { select: columns, from: 'asset_partitions', at: '', where: `${present} IS NOT NULL` },
      keys,
      scope,
    ) as unknown[][];

  return {
    latestMaterializations(keys: string[], opts: PartitionScope = {}): Map<string, Map<string, MaterializationRecord>> {
      const from = 'asset_partitions p JOIN materializations m ON m.id = p.materialization_id';
      return byKeyAndPartition(
        decodeMaterializations(latestPerKey('all', { select: 'm.*', from, at: 'p' }, keys, opts)),
      );
    },

    latestMaterializationHeads(
      keys: string[],
      opts: PartitionScope = {},
    ): Map<string, Map<string, MaterializationRecord>> {
      // The partition state holds each latest record's head: the metadata entry staleness reads is kept
      // apart, so no metadata JSON is read (decoding a Silver partition's ~4-6 KB per row dominated status).
      return decodeHeads(partitionState(HEAD_COLUMNS, 'materialization_id', keys, opts));
    },

    latestStepAttempts(keys: string[], opts: PartitionScope = {}): Map<string, Map<string, StepAttemptRecord>> {
      return decodeAttempts(partitionState(ATTEMPT_COLUMNS, 'attempt_id', keys, opts));
    },

    latestCheckEvaluations(keys: string[], opts: PartitionScope = {}): CheckEvaluationRecord[] {
      const from = 'latest_check_evaluations l JOIN check_evaluations c ON c.id = l.evaluation_id';
      return decodeCheckEvaluations(
        latestPerKey('all', { select: 'c.*', from, at: 'l', orderBy: 'l.check_name' }, keys, opts),
      );
    },

    materializedPartitionKeys(key: string, range: KeyRange = {}): string[] {
      const conditions = ['asset_key = ?', 'materialization_id IS NOT NULL'];
      const params = [key];
      if (range.from !== undefined) {
        conditions.push('partition_key >= ?');
        params.push(range.from);
      }
      if (range.before !== undefined) {
        conditions.push('partition_key < ?');
        params.push(range.before);
      }
      const sql = `SELECT partition_key FROM asset_partitions INDEXED BY idx_asset_partitions_materialized
                   WHERE ${conditions.join(' AND ')} ORDER BY partition_key`;
      return withBusyRetry(() => db.pluck(sql).all(...params) as string[]);
    },

    materializedKeyRuns(key: string, bounds: readonly string[]): MaterializedKeyRun[] {
      // one string per range: at a million partitions, making a JavaScript string per key costs most of the read
      const select = `SELECT count(*), coalesce(group_concat(partition_key, char(10)), '')
                      FROM asset_partitions INDEXED BY idx_asset_partitions_materialized
                      WHERE asset_key = ? AND materialization_id IS NOT NULL AND partition_key >= ?`;
      const closed = db.rawQuery(`${select} AND partition_key < ?`).stmt;
      const open = db.rawQuery(select).stmt;
      // one read transaction: every range from the same snapshot
      const read = db.handle.transaction(() =>
        bounds.map((from, i) => {
          const before = bounds[i + 1];
          const [count, joined] = (before === undefined ? open.get(key, from) : closed.get(key, from, before)) as [
            number,
            string,
          ];
          return { count, joined };
        }),
      );
      return withBusyRetry(() => read());
    },

    knownKeyCheck(key: string): {
      generation: number;
      kept: KnownKeyCheck | undefined;
      changes?: MaterializedKeyChange[];
    } {
      // the generation, the check and the changes since it from the same snapshot
      const checkSql = `SELECT coalesce((SELECT generation FROM materialized_key_generations WHERE asset_key = ?), 0),
                          c.generation, c.known, c.missing, c.extra
                   FROM (SELECT 1) LEFT JOIN known_key_checks c ON c.asset_key = ?`;
      const changesSql = `SELECT partition_key, added FROM materialized_key_changes
                          WHERE asset_key = ? AND generation > ? AND generation <= ? ORDER BY generation`;
      const read = db.handle.transaction(() => {
        const [current, generation, known, missing, extra] = db.raw(checkSql, key, key)[0] as [
          number,
          number | null,
          string | null,
          string | null,
          string | null,
        ];
        if (generation === null) return { generation: current, kept: undefined };
        const parsed = keptCheck().safeParse({
          generation,
          known,
          missing: parseJson(missing),
          extra: parseJson(extra),
        });
        // a row this code cannot read (written by another version) is no outcome: the keys are compared again
        if (!parsed.success) return { generation: current, kept: undefined };
        const kept = parsed.data;
        const gap = current - kept.generation;
        if (gap <= 0 || gap > MATERIALIZED_KEY_LOG_LIMIT) return { generation: current, kept };
        const rows = db.raw(changesSql, key, kept.generation, current) as [string, number][];
        // one change per generation: fewer rows means the log no longer holds them all (a rebuild, its window)
        if (rows.length !== gap) return { generation: current, kept };
        return {
          generation: current,
          kept,
          changes: rows.map(([partition, added]) => ({ partition, added: added === 1 })),
        };
      });
      return withBusyRetry(() => read());
    },

    keepKnownKeyCheck(key: string, check: KnownKeyCheck): void {
      const upsert = db.stmt(
        `INSERT INTO known_key_checks (asset_key, generation, known, missing, extra) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (asset_key) DO UPDATE SET generation = excluded.generation, known = excluded.known,
           missing = excluded.missing, extra = excluded.extra`,
      );
      // the changes up to the kept check are never replayed again: only a newer check could be brought up to date
      const prune = db.stmt('DELETE FROM materialized_key_changes WHERE asset_key = ? AND generation <= ?');
      const { generation, known, missing, extra } = check;
      const keep = db.handle.transaction(
        () =>
          upsert.run(key, generation, known, JSON.stringify(missing), JSON.stringify(extra)).changes +
          prune.run(key, generation).changes,
      );
      db.derivedWrites += withBusyRetry(() => keep());
    },

    materializedVersions(key: string): Map<string, string> {
      const sql = `SELECT partition_key, data_version FROM asset_partitions
                   WHERE asset_key = ? AND materialization_id IS NOT NULL ORDER BY partition_key`;
      return new Map(withBusyRetry(() => db.raw(sql, key)) as [string, string][]);
    },

    stalenessCandidates(key: string, spec: StalenessCandidateSpec): string[] {
      if (spec.identityDeps.length === 0 && spec.fixedDeps.length === 0) return versionCandidates(key, spec);
      // One scan of the asset's rows (its primary-key range) joined 1:1 to each identity upstream's row.
      const joins = spec.identityDeps.map(
        (_, i) => `LEFT JOIN asset_partitions u${i} ON u${i}.asset_key = ? AND u${i}.partition_key = a.partition_key`,
      );
      const conditions = [
        "a.attempt_status = 'RUNNING'",
        "(a.attempt_status IN ('FAILURE', 'CANCELED') AND coalesce(a.attempt_finished_at, '') > a.ts)",
        'a.code_version IS NOT ?',
        'a.deps IS NOT ?',
        ...spec.identityDeps.map((_, i) => `json_extract(a.input_versions, ?) IS NOT u${i}.data_version`),
        ...spec.fixedDeps.map(() => 'json_extract(a.input_versions, ?) IS NOT ?'),
      ];
      const sql = `SELECT a.partition_key FROM asset_partitions a ${joins.join(' ')}
                   WHERE a.asset_key = ? AND a.materialization_id IS NOT NULL AND (${conditions.join(' OR ')})
                   ORDER BY a.partition_key`;
      const path = (dep: string) => `$.${JSON.stringify(dep)}`;
      const params = [
        ...spec.identityDeps,
        key,
        spec.codeVersion,
        spec.depsJson,
        ...spec.identityDeps.map(path),
        ...spec.fixedDeps.flatMap((d) => [path(d.key), d.dataVersion]),
      ];
      return withBusyRetry(() => db.pluck(sql).all(...params) as string[]);
    },

    rebuildPartitionState(): { partitions: number; checks: number } {
      return db.write(() => {
        db.handle.exec(REBUILD_PARTITION_STATE_AND_GENERATIONS);
        const count = (table: string) =>
          (db.handle.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        return { partitions: count('asset_partitions'), checks: count('latest_check_evaluations') };
      });
    },
  };
}
