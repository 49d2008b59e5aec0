"""Silver Iceberg tables: their columns, creation, and the atomic overwrite of a run's Bronze partitions."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

# (name, Spark SQL type) in table order. Timestamps are UTC instants (Iceberg timestamptz).
TELEMETRY_COLUMNS = [
    ("round_id", "string"),
    ("course_id", "string"),
    ("ingest_date", "date"),
    ("location_index", "int"),
    ("source_file", "string"),
    ("source_format", "string"),
    ("course", "string"),
    ("round_start_time", "timestamp"),
    ("round_end_time", "timestamp"),
    ("round_duration_minutes", "double"),
    ("start_hole", "int"),
    ("start_section", "int"),
    ("end_section", "int"),
    ("is_nine_hole", "boolean"),
    ("current_nine", "int"),
    ("goal_time", "int"),
    ("goal_name", "string"),
    ("goal_time_fraction", "double"),
    ("is_complete", "boolean"),
    ("is_incomplete", "boolean"),
    ("is_secondary", "boolean"),
    ("is_auto_assigned", "boolean"),
    ("device", "string"),
    ("first_fix", "string"),
    ("last_fix", "string"),
    ("last_section_start", "double"),
    ("current_section", "int"),
    ("current_hole", "int"),
    ("current_hole_section", "int"),
    ("hole_number", "int"),
    ("hole_section", "int"),
    ("section_number", "int"),
    ("nine_number", "int"),
    ("fix_offset_seconds", "double"),
    ("fix_timestamp", "timestamp"),
    ("is_timestamp_missing", "boolean"),
    ("event_date", "date"),
    ("event_year", "int"),
    ("event_month", "int"),
    ("event_day", "int"),
    ("event_weekday", "int"),
    ("local_date", "date"),
    ("local_hour", "int"),
    ("longitude", "double"),
    ("latitude", "double"),
    ("geometry", "binary"),
    ("geometry_wkt", "string"),
    ("h3_cell_id", "bigint"),
    ("pace", "double"),
    ("pace_gap", "double"),
    ("positional_gap", "double"),
    ("battery_percentage", "double"),
    ("is_cache", "boolean"),
    ("is_projected", "boolean"),
    ("is_problem", "boolean"),
    ("is_location_padding", "boolean"),
    ("extra_fields", "string"),
]
QUARANTINE_COLUMNS = TELEMETRY_COLUMNS + [("quarantine_reason", "string"), ("run_id", "string")]
DEVICE_HEALTH_COLUMNS = [
    ("round_id", "string"),
    ("course_id", "string"),
    ("ingest_date", "date"),
    ("location_index", "int"),
    ("source_file", "string"),
    ("fix_timestamp", "timestamp"),
    ("event_date", "date"),
    ("device", "string"),
    ("battery_percentage", "double"),
    ("is_cache", "boolean"),
    ("is_projected", "boolean"),
    ("is_problem", "boolean"),
    ("capture_logs", "string"),
]

TABLE_PROPERTIES = {
    "format-version": "2",
    "write.distribution-mode": "hash",
    # snappy, not Iceberg's default zstd: a Bronze partition spanning many event dates writes many small
    # files, and zstd cost ~30 CPU-s more than snappy on the 100 MB benchmark (bench/README.md).
    "write.parquet.compression-codec": "snappy",
}

TABLES = {
    # name: (columns, partition fields: columns or Iceberg transforms of them). Every spec ends in the Bronze
    # partition (course_id, ingest_date): a data file then holds one Bronze partition's rows, so replacing
    # some of them (overwrite_partitions) deletes whole files, whichever Bronze partitions a run wrote together.
    "fact_telemetry_event": (TELEMETRY_COLUMNS, ("course_id", "event_date", "ingest_date")),
    # a narrow per-fix log: monthly partitions, so a backfill over years writes a few dozen files, not
    # one per day (month transform; queries on event_date still prune by it)
    "fact_device_health": (DEVICE_HEALTH_COLUMNS, ("course_id", "months(event_date)", "ingest_date")),
    # quarantine is reviewed per Bronze partition, so it is partitioned like one
    "quarantine_telemetry_event": (QUARANTINE_COLUMNS, ("course_id", "ingest_date")),
}

TABLE_NAMES = tuple(TABLES)  # fact_telemetry_event, fact_device_health, quarantine_telemetry_event

# Columns whose values are (nearly) all different within a data file: Parquet's dictionary encoding
# only costs CPU there (every value is hashed, then the page falls back to plain encoding).
PLAIN_ENCODED = (
    "fix_timestamp",
    "fix_offset_seconds",
    "longitude",
    "latitude",
    "geometry",
    "geometry_wkt",
    "pace",
    "pace_gap",
    "positional_gap",
)


def table_properties(table: str) -> dict[str, str]:
    """Iceberg table properties of one Silver table: TABLE_PROPERTIES plus its plain-encoded columns."""
    columns = {c for c, _ in TABLES[table][0]}
    plain = {f"write.parquet.dict-encoding-enabled.column.{c}": "false" for c in PLAIN_ENCODED if c in columns}
    return {**TABLE_PROPERTIES, **plain}


def _properties(props: dict[str, str]) -> str:
    return ", ".join(f"'{k}'='{v}'" for k, v in props.items())


def qualified(spark: SparkSession, namespace: str, table: str) -> str:
    catalog = spark.conf.get("spark.sql.defaultCatalog")
    return f"{catalog}.{namespace}.{table}"


def ensure_table(spark: SparkSession, namespace: str, table: str) -> str:
    """Creates the namespace and table on first use; adds columns a newer job version writes."""
    columns, partitioned_by = TABLES[table]
    name = qualified(spark, namespace, table)
    catalog = spark.conf.get("spark.sql.defaultCatalog")
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {catalog}.{namespace}")
    cols = ", ".join(f"{c} {t}" for c, t in columns)
    wanted = table_properties(table)
    props = _properties(wanted)
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {name} ({cols}) USING iceberg PARTITIONED BY ({', '.join(partitioned_by)}) "
        f"TBLPROPERTIES ({props})"
    )
    current = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {name}").collect()}
    stale = {k: v for k, v in wanted.items() if current.get(k) != v}
    if stale:  # a table created by an older job version
        spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ({_properties(stale)})")
    _evolve_partitioning(spark, name, partitioned_by)
    existing = {f.name for f in spark.table(name).schema.fields}
    missing = [(c, t) for c, t in columns if c not in existing]
    if missing:
        spark.sql(f"ALTER TABLE {name} ADD COLUMNS ({', '.join(f'{c} {t}' for c, t in missing)})")
    return name


def partitioning(spark: SparkSession, name: str) -> list[str]:
    """The table's current partition fields as Spark SQL shows them: ``course_id``, ``months(event_date)``."""
    ddl = spark.sql(f"SHOW CREATE TABLE {name}").first()[0]
    spec = re.search(r"^PARTITIONED BY \((.*)\)$", ddl, re.MULTILINE)
    return re.findall(r"\w+\([^)]*\)|\w+", spec.group(1)) if spec else []


def _evolve_partitioning(spark: SparkSession, name: str, wanted: tuple[str, ...]) -> None:
    """Moves a table created by an older job version to the wanted partition fields. Iceberg keeps the
    old files under their old spec; new writes use the new one."""
    current = partitioning(spark, name)
    for field in wanted:
        if field not in current:
            spark.sql(f"ALTER TABLE {name} ADD PARTITION FIELD {field}")
    for field in current:
        if field not in wanted:
            spark.sql(f"ALTER TABLE {name} DROP PARTITION FIELD {field}")


def conform(df: DataFrame, table: str) -> DataFrame:
    columns, _ = TABLES[table]
    return df.select(*[F.col(c).cast(t).alias(c) for c, t in columns])


def any_of(terms: list[F.Column]) -> F.Column:
    """The OR of ``terms`` as a balanced tree: hundreds of terms must not make a chain hundreds deep."""
    if not terms:
        return F.lit(False)
    while len(terms) > 1:
        terms = [terms[i] | terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def slices_condition(slices: list[tuple[str, str]]) -> F.Column:
    """The rows of the Bronze partitions ``slices`` ((course_id, ingest_date) pairs): one
    ``course_id = c AND ingest_date IN (…)`` term per course, OR-ed (``any_of``). Iceberg evaluates it on each
    file's partition values, and on the column bounds of files written under an older spec (one ingest date
    per file)."""
    by_course = defaultdict(list)
    for course_id, ingest_date in slices:
        by_course[course_id].append(ingest_date)
    return any_of(
        [(F.col("course_id") == F.lit(c)) & _ingest_date_in(sorted(days)) for c, days in sorted(by_course.items())]
    )


def _ingest_date_in(days: list[str]) -> F.Column:
    dates = [F.to_date(F.lit(d)) for d in days]
    return F.col("ingest_date") == dates[0] if len(dates) == 1 else F.col("ingest_date").isin(dates)


def ensure_branch(spark: SparkSession, name: str, branch: str) -> None:
    """Creates Iceberg branch ``branch`` of table ``name`` at main's current snapshot (an empty snapshot when the
    table has none yet), unless it exists: a retried job of the same run goes on writing the same branch."""
    spark.sql(f"ALTER TABLE {name} CREATE BRANCH IF NOT EXISTS `{branch}`")


def overwrite_partitions(
    df: DataFrame,
    name: str,
    condition: F.Column,
    run_id: str,
    validate_from: int | None = None,
    branch: str | None = None,
) -> dict:
    """Replaces every row matching ``condition`` (whole table partitions: ``slices_condition`` of the run's Bronze
    partitions, and the partitions of re-delivered rounds' older copies) with `df` in ONE Iceberg commit.

    `overwrite(condition)` deletes the files whose rows all match and adds the new files in a single
    snapshot, so readers see either the old rows or the new ones, never a mix or nothing; it fails on a
    file where only some rows match, which the partition specs rule out (TABLES). The
    snapshot carries `fairway.run_id` and a `fairway.commit_id` unique to this write, by which the commit is
    found afterwards (two jobs of one run may commit at once).
    `df` must already be clustered by table partition in each task (``transform.ranked_for_dedup``): it is
    written as it is, without Iceberg's shuffle and sort, and Iceberg's writer fails on rows that are not.
    ``validate_from``: the snapshot `df` was derived from; the commit fails (serializable isolation) if another
    commit since then added or deleted files matching ``condition``, instead of overwriting that commit's rows.
    ``branch``: commit to this branch (``ensure_branch``), not to main; ``validate_from`` is then on the branch.
    """
    commit_id = uuid.uuid4().hex
    # fanout off: a task keeps ONE data file open at a time, so its rows must arrive clustered by partition.
    # With fanout a task keeps a Parquet writer open per event_date it meets; a Bronze partition spanning
    # ~1,000 days ran a 2g driver out of heap. Same rows, same partitions.
    writer = (
        df.writeTo(f"{name}.`branch_{branch}`" if branch else name)
        .option("snapshot-property.fairway.run_id", run_id)
        .option("snapshot-property.fairway.commit_id", commit_id)
        .option("fanout-enabled", "false")
        .option("use-table-distribution-and-ordering", "false")
    )
    if validate_from is not None:
        writer = writer.option("isolation-level", "serializable").option(
            "validate-from-snapshot-id", str(validate_from)
        )
    writer.overwrite(condition)
    spark = df.sparkSession
    row = spark.sql(
        f"SELECT snapshot_id, summary FROM {name}.snapshots WHERE summary['fairway.commit_id'] = '{commit_id}'"
    ).first()
    if row is None:
        raise RuntimeError(
            f"no snapshot of {name} carries fairway.commit_id={commit_id} (run {run_id}) after the write"
        )
    summary = row.summary or {}
    return {
        "snapshot_id": str(row.snapshot_id),
        "added_records": int(summary.get("added-records", 0)),
        "deleted_records": int(summary.get("deleted-records", 0)),
        "total_records": int(summary.get("total-records", 0)),
    }


def table_schema(spark: SparkSession, name: str) -> list[dict]:
    return [
        {"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable}
        for f in spark.table(name).schema.fields
    ]
