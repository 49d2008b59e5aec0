"""A round delivered twice: the newest delivery wins, across Bronze partitions and across runs.

Exports overlap: a round is exported again the next day, or a file is re-sent under a later ingest date. The
rule (docs/learning/lakehouse_layers.md, "A round delivered twice"):

- a round is identified by (course_id, round_id); a Bronze partition (course_id, ingest_date) holding it is a
  *delivery* of it;
- Silver keeps the rows of the newest delivery only, whole: its rows replace every row of the older copies in
  all three tables, in the same commit per table that writes the new partition (nothing is merged fix by fix:
  the newest export is the round as the course last saw it);
- a delivery older than one already in Silver (or in the same run) is not written: its rows are counted as
  ``superseded_rows`` of its partition, so ``real_rows = rows_written + quarantined + duplicates_removed +
  superseded_rows`` still holds per partition;
- the partition whose delivery replaced older copies reports them as ``replaced_rows`` (fact rows) and
  ``replaced_quarantined_rows``; the table then holds ``sum(rows_written) - sum(replaced_rows)`` rows.

Finding the older copies costs the size of the run, not of the history: a round's fixes carry their event
dates wherever it was delivered, so one read of the (course_id, event_date) partitions the run writes finds the
older deliveries of its rounds (by their dated fixes; a round without any timestamp is not found), and a second
read of those older Bronze partitions finds every row of them. The decision is read from one snapshot per table,
and each commit is validated against it (serializable isolation): a concurrent writer makes the commit fail
instead of being overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fairway_spark.silver import tables

FACT, DEVICE_HEALTH, QUARANTINE = tables.TABLE_NAMES


@dataclass(frozen=True)
class OldCopy:
    """Rows of one round already in a Silver table from an older delivery, in one event date."""

    table: str
    course_id: str
    round_id: str
    ingest_date: str
    event_date: str | None
    rows: int


@dataclass
class Redelivery:
    """What the rule decides for one run: the batch's copies it does not write, the older copies the newest
    batch copies replace (by the part_idx that replaces them), and the snapshot of each table the decision was
    read from (the commits validate against it)."""

    superseded: set[tuple[int, str]] = field(default_factory=set)  # (part_idx, round_id)
    replaces: dict[int, list[OldCopy]] = field(default_factory=lambda: defaultdict(list))
    snapshots: dict[str, int] = field(default_factory=dict)  # table → snapshot id read

    def replaced_counts(self, i: int) -> dict:
        copies = self.replaces.get(i, [])
        return {
            "replaced_rows": sum(c.rows for c in copies if c.table == FACT),
            "replaced_quarantined_rows": sum(c.rows for c in copies if c.table == QUARANTINE),
            "replaced_ingest_dates": sorted({c.ingest_date for c in copies}),
        }

    def removals(self, written: list[int]) -> list[OldCopy]:
        return [c for i in written for c in self.replaces.get(i, [])]


def plan(
    spark: SparkSession, namespace: str, ranked: DataFrame, parts, alive: list[int], ref: str = "main"
) -> Redelivery:
    """Applies the rule to the rounds of the ``alive`` partitions (part_idx; reconciled, about to be written) of
    ``ranked``. Finds the older deliveries in two reads of each table, both in proportion to the run: the
    partitions of the event dates the run writes (which deliveries hold its rounds), then the older Bronze
    partitions found (every row of those rounds there). ``ref``: the branch the run reads and writes."""
    result = Redelivery(snapshots=_snapshots(spark, namespace, ref))
    rows = ranked.where(F.col("is_location") & F.col("part_idx").isin(alive) & F.col("round_id").isNotNull())
    copies = rows.select("part_idx", "course_id", "round_id").distinct()
    deliveries: dict[tuple[str, str], dict[str, int | None]] = defaultdict(dict)  # ingest date → part_idx or None
    in_batch = copies.groupBy("course_id", "round_id").agg(F.collect_set("part_idx").alias("parts"))
    for r in in_batch.where(F.size("parts") > 1).collect():
        for i in r.parts:
            deliveries[(r.course_id, r.round_id)][parts[i].ingest_date] = i
    slices = [(parts[i].course_id, parts[i].ingest_date) for i in alive]
    for course_id, round_id, ingest_date, i in _older_deliveries(
        spark, namespace, result.snapshots, rows, copies, slices
    ):
        deliveries[(course_id, round_id)][parts[i].ingest_date] = i
        deliveries[(course_id, round_id)].setdefault(ingest_date, None)
    replaced: dict[tuple[str, str, str], int] = {}  # (course_id, round_id, older ingest date) → winner part_idx
    for (course_id, round_id), by_day in deliveries.items():
        newest = max(by_day)
        winner = by_day[newest]
        for day, i in by_day.items():
            if day == newest:
                continue
            if i is not None:
                result.superseded.add((i, round_id))
            elif winner is not None:  # the newest copy is the run's: it replaces the older one in the tables
                replaced[(course_id, round_id, day)] = winner
    for copy in _rows_of(spark, namespace, result.snapshots, list(replaced)):
        result.replaces[replaced[(copy.course_id, copy.round_id, copy.ingest_date)]].append(copy)
    return result


def _snapshots(spark: SparkSession, namespace: str, ref: str) -> dict[str, int]:
    """The head snapshot of branch ``ref`` of each existing Silver table."""
    out = {}
    for table in tables.TABLE_NAMES:
        name = tables.qualified(spark, namespace, table)
        if spark.catalog.tableExists(name):
            row = spark.sql(f"SELECT snapshot_id FROM {name}.refs WHERE name = '{ref}'").first()
            if row is not None:
                out[table] = int(row.snapshot_id)
    return out


def _at(spark: SparkSession, namespace: str, snapshots: dict[str, int], table: str) -> DataFrame:
    return spark.sql(f"SELECT * FROM {tables.qualified(spark, namespace, table)} VERSION AS OF {snapshots[table]}")


def _older_deliveries(
    spark: SparkSession,
    namespace: str,
    snapshots: dict[str, int],
    rows: DataFrame,
    copies: DataFrame,
    slices: list[tuple[str, str]],
) -> set[tuple[str, str, str, int]]:
    """(course_id, round_id, ingest date, part_idx of the run holding it) of the run's rounds already in a
    table, outside the partitions the run replaces. Every table is searched: a run that died between two
    commits leaves a copy in some tables only. Only the run's dated (course_id, event_date) partitions are
    read; a round is found by its dated fixes."""
    if not snapshots:  # no table yet: nothing delivered before
        return set()
    course_dates = [
        (r.course_id, r.event_date)
        for r in rows.where(F.col("event_date").isNotNull()).select("course_id", "event_date").distinct().collect()
    ]
    if not course_dates:
        return set()
    where = _course_dates_condition(course_dates) & ~tables.slices_condition(slices)
    found = set()
    for table in snapshots:
        hits = (
            _at(spark, namespace, snapshots, table)
            .where(where)
            .select("course_id", "round_id", "ingest_date")
            .distinct()
            .join(F.broadcast(copies), ["course_id", "round_id"])
        )
        found |= {(r.course_id, r.round_id, r.ingest_date.isoformat(), r.part_idx) for r in hits.collect()}
    return found


def _rows_of(
    spark: SparkSession, namespace: str, snapshots: dict[str, int], replaced: list[tuple[str, str, str]]
) -> list[OldCopy]:
    """Every row of the replaced older copies ((course_id, round_id, ingest date)) in each table, counted by
    event date: read from their Bronze partitions only."""
    if not replaced:
        return []
    where = tables.slices_condition(sorted({(c, day) for c, _, day in replaced})) & _copy_key().isin(
        sorted(_key(*k) for k in replaced)
    )
    out = []
    for table in snapshots:
        grouped = (
            _at(spark, namespace, snapshots, table)
            .where(where)
            .groupBy("course_id", "round_id", "ingest_date", "event_date")
            .count()
        )
        out += [
            OldCopy(
                table,
                r.course_id,
                r.round_id,
                r.ingest_date.isoformat(),
                r.event_date.isoformat() if r.event_date else None,
                r["count"],
            )
            for r in grouped.collect()
        ]
    return sorted(out, key=lambda c: (c.table, c.course_id, c.ingest_date, str(c.event_date), c.round_id))


def _key(course_id: str, round_id: str, ingest_date: str) -> str:
    return f"{course_id}\x1f{round_id}\x1f{ingest_date}"


def _copy_key() -> F.Column:
    return F.concat_ws("\x1f", "course_id", "round_id", F.col("ingest_date").cast("string"))


def _course_dates_condition(course_dates: list[tuple[str, dt.date]]) -> F.Column:
    """Rows of the given (course_id, event_date) pairs."""
    by_course = defaultdict(set)
    for course_id, day in course_dates:
        by_course[course_id].add(day)
    return tables.any_of(
        [
            (F.col("course_id") == F.lit(c)) & F.col("event_date").isin([F.lit(d) for d in sorted(days)])
            for c, days in sorted(by_course.items())
        ]
    )


# ---- rewriting the older partitions ---------------------------------------------------------------------


def old_partitions_condition(table: str, copies: list[OldCopy]) -> F.Column | None:
    """The partitions of ``table`` holding its older ``copies`` (all of their rows), in the table's partitioning
    (tables.TABLES): exact partitions, so an Iceberg overwrite by this condition deletes whole files."""
    by_slice = defaultdict(set)
    for c in copies:
        if c.table == table:
            by_slice[(c.course_id, c.ingest_date)].add(c.event_date)
    terms = []
    for (course_id, ingest_date), days in sorted(by_slice.items()):
        term = (F.col("course_id") == F.lit(course_id)) & (F.col("ingest_date") == F.to_date(F.lit(ingest_date)))
        if table != QUARANTINE:  # partitioned by ingest date only: the whole slice
            term = term & tables.any_of([_event_date_term(table, d) for d in sorted(days, key=str)])
        terms.append(term)
    return tables.any_of(terms) if terms else None


def _month(day: str) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(day).replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1)


def _event_date_term(table: str, day: str | None) -> F.Column:
    if day is None:
        return F.col("event_date").isNull()
    if table == DEVICE_HEALTH:  # partitioned by months(event_date)
        first, after = _month(day)
        return (F.col("event_date") >= F.lit(first)) & (F.col("event_date") < F.lit(after))
    return F.col("event_date") == F.lit(dt.date.fromisoformat(day))


def retained_rows(
    spark: SparkSession, namespace: str, snapshots: dict[str, int], table: str, copies: list[OldCopy]
) -> DataFrame | None:
    """The rows of the older partitions that stay (every round but the replaced ones), read from the snapshot the
    decision was made on, to be written again in the commit that deletes those partitions; None when the table
    has no such partition."""
    condition = old_partitions_condition(table, copies)
    if condition is None:
        return None
    removed = sorted({_key(c.course_id, c.round_id, c.ingest_date) for c in copies})
    columns = [c for c, _ in tables.TABLES[table][0]]
    # clustered by table partition in each task, as the writer wants (tables.overwrite_partitions)
    return (
        _at(spark, namespace, snapshots, table)
        .where(condition & ~_copy_key().isin(removed))
        .select(*columns)
        .sortWithinPartitions("course_id", "ingest_date", "event_date")
    )
