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

Finding the older copies costs the size of the run, not of the history: a round's rows carry its fixes'
event dates wherever it was delivered, so the lookup reads only the (course_id, event_date) partitions the run
writes (plus the rows without a timestamp of its courses), never the whole table.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from silver import tables

FACT, DEVICE_HEALTH, QUARANTINE = tables.TABLE_NAMES
# the tables searched for older copies; fact_device_health holds one row per fact row, so its old partitions
# follow from the fact table's
SEARCHED = (FACT, QUARANTINE)


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
    """What the rule decides for one run: the batch's copies it does not write, and the older copies the
    newest batch copies replace (by the part_idx that replaces them)."""

    superseded: set[tuple[int, str]] = field(default_factory=set)  # (part_idx, round_id)
    replaces: dict[int, list[OldCopy]] = field(default_factory=lambda: defaultdict(list))
    winners: set[int] = field(default_factory=set)  # part_idx whose copies supersede others of the batch

    def replaced_counts(self, i: int) -> dict:
        copies = self.replaces.get(i, [])
        return {
            "replaced_rows": sum(c.rows for c in copies if c.table == FACT),
            "replaced_quarantined_rows": sum(c.rows for c in copies if c.table == QUARANTINE),
            "replaced_ingest_dates": sorted({c.ingest_date for c in copies}),
        }

    def removals(self, written: list[int]) -> list[OldCopy]:
        return [c for i in written for c in self.replaces.get(i, [])]


def plan(spark: SparkSession, namespace: str, ranked: DataFrame, parts, alive: list[int]) -> Redelivery:
    """Applies the rule to the rounds of the ``alive`` partitions (part_idx) of ``ranked``: one grouped pass
    over the run's (cached) rows, one pruned read of each searched table."""
    rows = ranked.where(F.col("is_location") & F.col("part_idx").isin(alive))
    copies = rows.select("part_idx", "course_id", "round_id").distinct()
    deliveries: dict[tuple[str, str], dict[str, int | None]] = defaultdict(dict)  # ingest date → part_idx or None
    in_batch = copies.groupBy("course_id", "round_id").agg(F.collect_set("part_idx").alias("parts"))
    for r in in_batch.where(F.size("parts") > 1).collect():
        for i in r.parts:
            deliveries[(r.course_id, r.round_id)][parts[i].ingest_date] = i
    old_by_round = defaultdict(set)
    slices = [(parts[i].course_id, parts[i].ingest_date) for i in alive]
    for copy, i in _old_copies(spark, namespace, rows, copies, slices):
        deliveries[(copy.course_id, copy.round_id)][parts[i].ingest_date] = i
        deliveries[(copy.course_id, copy.round_id)].setdefault(copy.ingest_date, None)
        old_by_round[(copy.course_id, copy.round_id)].add(copy)
    result = Redelivery()
    for (course_id, round_id), by_day in deliveries.items():
        newest = max(by_day)
        winner = by_day[newest]
        for day, i in by_day.items():
            if day != newest and i is not None:
                result.superseded.add((i, round_id))
                if winner is not None:
                    result.winners.add(winner)
        if winner is not None:  # the newest copy is the run's: it replaces the older ones in the tables
            result.replaces[winner].extend(sorted((c for c in old_by_round[(course_id, round_id)]),
                                                  key=lambda c: (c.table, c.ingest_date, str(c.event_date))))
    return result


def _old_copies(spark: SparkSession, namespace: str, rows: DataFrame, copies: DataFrame,
                slices: list[tuple[str, str]]) -> list[tuple[OldCopy, int]]:
    """Rows of the run's rounds already in the searched tables, outside the partitions the run replaces,
    grouped by round, ingest date and event date; each with a part_idx of the run holding the round."""
    course_dates = [(r.course_id, r.event_date) for r in rows.select("course_id", "event_date").distinct().collect()]
    if not course_dates:
        return []
    where = _course_dates_condition(course_dates) & ~tables.slices_condition(slices)
    found = []
    for table in SEARCHED:
        name = tables.qualified(spark, namespace, table)
        if not spark.catalog.tableExists(name):
            continue
        grouped = (
            spark.table(name).where(where)
            .groupBy("course_id", "round_id", "ingest_date", "event_date").count()
            .join(F.broadcast(copies), ["course_id", "round_id"])
        )
        found += [(OldCopy(table, r.course_id, r.round_id, r.ingest_date.isoformat(),
                           r.event_date.isoformat() if r.event_date else None, r["count"]), r.part_idx)
                  for r in grouped.collect()]
    return found


def _course_dates_condition(course_dates: list[tuple[str, dt.date | None]]) -> F.Column:
    """Rows of the given (course_id, event_date) pairs; rows without a timestamp (NULL event date) of the
    courses always, as a copy's timestamp-less fixes are found nowhere else."""
    by_course = defaultdict(set)
    for course_id, day in course_dates:
        by_course[course_id].add(day)
    terms = []
    for course_id, days in sorted(by_course.items()):
        dated = sorted(d for d in days if d is not None)
        on_day = F.col("event_date").isin([F.lit(d) for d in dated]) if dated else F.lit(False)
        terms.append((F.col("course_id") == F.lit(course_id)) & (on_day | F.col("event_date").isNull()))
    return tables.any_of(terms)


# ---- rewriting the older partitions ---------------------------------------------------------------------


def _month(day: str) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(day).replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1)


def old_partitions_condition(table: str, copies: list[OldCopy]) -> F.Column | None:
    """The table partitions holding the older ``copies`` (all of their rows), in ``table``'s partitioning
    (tables.TABLES): exact partitions, so an Iceberg overwrite by this condition deletes whole files."""
    source = QUARANTINE if table == QUARANTINE else FACT
    by_slice = defaultdict(set)
    for c in copies:
        if c.table == source:
            by_slice[(c.course_id, c.ingest_date)].add(c.event_date)
    terms = []
    for (course_id, ingest_date), days in sorted(by_slice.items()):
        term = (F.col("course_id") == F.lit(course_id)) & (F.col("ingest_date") == F.to_date(F.lit(ingest_date)))
        if table != QUARANTINE:
            term = term & tables.any_of([_event_date_term(table, d) for d in sorted(days, key=str)])
        terms.append(term)
    return tables.any_of(terms) if terms else None


def _event_date_term(table: str, day: str | None) -> F.Column:
    if day is None:
        return F.col("event_date").isNull()
    if table == DEVICE_HEALTH:  # partitioned by months(event_date)
        first, after = _month(day)
        return (F.col("event_date") >= F.lit(first)) & (F.col("event_date") < F.lit(after))
    return F.col("event_date") == F.lit(dt.date.fromisoformat(day))


def retained_rows(spark: SparkSession, name: str, table: str, copies: list[OldCopy]) -> DataFrame | None:
    """The rows of the older partitions that stay (every round but the replaced ones), to be written again
    in the commit that deletes those partitions; None when the table has no such partition."""
    condition = old_partitions_condition(table, copies)
    if condition is None:
        return None
    removed = sorted({f"{c.course_id}\x1f{c.round_id}\x1f{c.ingest_date}" for c in copies})
    key = F.concat_ws("\x1f", "course_id", "round_id", F.col("ingest_date").cast("string"))
    columns = [c for c, _ in tables.TABLES[table][0]]
    # clustered by table partition in each task, as the writer wants (tables.overwrite_partitions)
    return (spark.table(name).where(condition & ~key.isin(removed)).select(*columns)
            .sortWithinPartitions("course_id", "ingest_date", "event_date"))
