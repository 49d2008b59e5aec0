"""Spark side of the Silver job: typed location rows, quarantine, dedup, derived columns.

Over 400 lines on purpose: these are the DataFrame steps of one plan in the order the job chains them (the batch
plan has one shuffle, tests/test_silver_batch.py), each a small function; split, the plan would be read across files.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fairway_spark.silver.bronze_files import list_files, read_file
from fairway_spark.silver.errors import JobError
from fairway_spark.silver.parse import detect_format, parse_file
from fairway_spark.silver.records import TAGGED_SCHEMA, stats_batch, tagged

_SPARK_TYPES = {
    pa.string(): T.StringType(),
    pa.int32(): T.IntegerType(),
    pa.int64(): T.LongType(),
    pa.float64(): T.DoubleType(),
    pa.bool_(): T.BooleanType(),
}
PARSED_SCHEMA = T.StructType([T.StructField(f.name, _SPARK_TYPES[f.type], True) for f in TAGGED_SCHEMA])

EARTH_RADIUS_M = 6_371_008.8
SWAP_RADIUS_M = 5_000.0
H3_RESOLUTION = 11  # ~25 m hexagons: finer than a section, coarse enough to group fixes
MIN_ROWS_FOR_NINE_BANDS = 100


def list_many(paths: dict[int, str]) -> dict[int, list[tuple[str, int]] | JobError]:
    """``bronze_files.list_files`` of several directories at once (a few threads: each S3 listing is a round
    trip); a directory that cannot be listed maps to its ``unreadable_input`` JobError."""

    def listing(path: str):
        try:
            return list_files(path)
        except JobError as e:
            return e

    with ThreadPoolExecutor(max_workers=max(1, min(16, len(paths)))) as pool:
        return dict(zip(paths, pool.map(listing, paths.values())))


def task_groups(listed: dict[int, list[tuple[str, int]]], tasks: int) -> list[list[tuple[int, str]]]:
    """The listed files (part_idx → (path, bytes)) as at most ``tasks`` groups of (part_idx, path) of about
    equal bytes: the biggest file first, each to the group with the fewest bytes so far. Each group is sorted."""
    files = sorted(((size, i, path) for i, found in listed.items() for path, size in found), key=lambda f: -f[0])
    groups = [(0, g, []) for g in range(min(tasks, len(files)))]
    for size, i, path in files:
        load, g, members = heapq.heappop(groups)
        members.append((i, path))
        heapq.heappush(groups, (load + size, g, members))
    return [sorted(members) for _, _, members in sorted(groups, key=lambda g: g[1])]


def _parse_files(batches):
    """mapInArrow: rows of (part_idx, path) groups → each file read (silver/bronze_files.py) and decoded
    (parse.py), its record batches tagged with its partition. A file that cannot be read yields a stats record
    with the error, which fails its partition (``summarize_stats``)."""
    for batch in batches:
        for group in batch.column("files").to_pylist():
            for f in group:
                part_idx, path = f["part_idx"], f["path"]
                try:
                    data = read_file(path)
                except JobError as e:
                    name = os.path.basename(path)
                    yield tagged(stats_batch(name, detect_format(name, b""), error=str(e)), part_idx)
                    continue
                for records in parse_file(path, data):
                    yield tagged(records, part_idx)


_GROUP_SCHEMA = T.StructType(
    [
        T.StructField(
            "files",
            T.ArrayType(
                T.StructType([T.StructField("part_idx", T.IntegerType()), T.StructField("path", T.StringType())])
            ),
        )
    ]
)


def read_partitions(spark: SparkSession, listed: dict[int, list[tuple[str, int]]]) -> DataFrame:
    """The files of the partitions ``listed`` (part_idx → their ``bronze_files.list_files``) → records, in one
    read (not cached: the caller caches them once, ranked).

    ``silver.local_decode`` covers local partitions in local mode. Here the driver hands the tasks the file
    names only, in groups of about equal bytes (``task_groups``), one group per task (a local relation of
    n rows is n splits, up to the default parallelism: no shuffle). Each task reads its files itself (S3
    through pyarrow, no Hadoop file system), decodes each (silver/parse.py, Arrow's multi-threaded CSV
    reader) and hands the records to the JVM as Arrow batches: ``loc`` rows and one ``stats`` row per file,
    each with its partition's ``part_idx``.
    """
    groups = task_groups(listed, spark.sparkContext.defaultParallelism)
    rows = [([{"part_idx": i, "path": path} for i, path in group],) for group in groups]
    return spark.createDataFrame(rows, _GROUP_SCHEMA).mapInArrow(_parse_files, PARSED_SCHEMA)


def read_decoded(spark: SparkSession, directory: str) -> DataFrame:
    """The records ``silver.local_decode`` wrote to ``directory``, as ``read_partitions`` returns them.

    Spark splits the file between its row groups, so the rows are read by several tasks at once.
    """
    return spark.read.schema(PARSED_SCHEMA).parquet(directory)


def with_row_id(records: DataFrame) -> DataFrame:
    """A ``row_id`` increasing in file order within each file (dedup's last tie-break)."""
    return records.withColumn("row_id", F.monotonically_increasing_id())


def file_stats(records: DataFrame) -> list[dict]:
    """The per-file stats rows of the records, each with its ``part_idx``."""
    rows = (
        records.where(F.col("record_kind") == "stats")
        .select("part_idx", "source_file", "source_format", "file_stats")
        .collect()
    )
    return [
        {"part_idx": r.part_idx, "file": r.source_file, "format": r.source_format, **json.loads(r.file_stats)}
        for r in rows
    ]


def stats_by_partition(file_stats: list[dict]) -> dict[int, dict]:
    """Per-file stats → ``summarize_stats`` of each partition (part_idx) that has any."""
    by_part = defaultdict(list)
    for s in file_stats:
        by_part[s["part_idx"]].append({k: v for k, v in s.items() if k != "part_idx"})
    return {i: summarize_stats(stats) for i, stats in by_part.items()}


def summarize_stats(file_stats: list[dict]) -> dict:
    """One partition's per-file stats → partition totals plus the per-file detail."""
    total = Counter()
    files, rejected, errors, unknown = [], [], [], set()
    for s in sorted(file_stats, key=lambda s: s["file"]):
        files.append(s)
        if "error" in s:
            errors.append(f"{s['file']}: {s['error']}")
        elif "rejected" in s:
            rejected.append({"file": s["file"], "reason": s["rejected"]})
        for k in ("rounds", "records_malformed", "slots", "padding", "real", "empty_rounds"):
            total[k] += int(s.get(k, 0))
        unknown.update(s.get("unknown_columns", []))
    return {
        "totals": dict(total),
        "files": files,
        "rejected": rejected,
        "errors": errors,
        "unknown_columns": sorted(unknown),
    }


def per_partition(values: list) -> Column:
    """The value of the row's Bronze partition: ``values[part_idx]``. A literal when all partitions have the
    same value (a run of one partition has the plan of a single-partition job); else a lookup in a literal array.
    """
    if all(v == values[0] for v in values):
        return F.lit(values[0])
    return F.element_at(F.array(*[F.lit(v) for v in values]), F.col("part_idx") + 1)


def typed_records(parsed: DataFrame, course_ids: list[str], ingest_dates: list[str]) -> DataFrame:
    """Typed timestamps and each partition's ids (lists indexed by part_idx). The ``stats`` records stay
    (``is_location`` tells them apart)."""
    fix_timestamp = F.expr("timestamp_micros(fix_us)")
    return parsed.select(
        *parsed.columns,
        (F.col("record_kind") == "loc").alias("is_location"),
        per_partition(course_ids).alias("course_id"),
        F.to_date(per_partition(ingest_dates)).alias("ingest_date"),
        F.expr("timestamp_micros(round_start_us)").alias("round_start_time"),
        F.expr("timestamp_micros(round_end_us)").alias("round_end_time"),
        fix_timestamp.alias("fix_timestamp"),
        F.to_date(fix_timestamp).alias("event_date"),
    )


def _haversine_m(lon: F.Column, lat: F.Column, c_lon: F.Column, c_lat: F.Column) -> F.Column:
    dlat = F.radians(lat - c_lat)
    dlon = F.radians(lon - c_lon)
    a = F.pow(F.sin(dlat / 2), 2) + F.cos(F.radians(c_lat)) * F.cos(F.radians(lat)) * F.pow(F.sin(dlon / 2), 2)
    return F.lit(2 * EARTH_RADIUS_M) * F.asin(F.least(F.lit(1.0), F.sqrt(a)))


def _in_bounds(lon: F.Column, lat: F.Column, bounds: tuple[float, float, float, float]) -> F.Column:
    min_lon, max_lon, min_lat, max_lat = bounds
    return lon.between(min_lon, max_lon) & lat.between(min_lat, max_lat)


def robust_centres(locs: DataFrame, bounds, parts: list[int], n_parts: int) -> dict[int, tuple[float, float]]:
    """Median lon/lat of the plausible fixes (finite, not (0,0), in bounds) of each partition in ``parts``
    (of ``n_parts``), in one grouped pass; a partition without any has no centre."""
    lon, lat = F.col("longitude"), F.col("latitude")
    ok = (
        F.col("is_location")
        & (~F.isnan(lon))
        & (~F.isnan(lat))
        & ~((lon == 0) & (lat == 0))
        & _in_bounds(lon, lat, bounds)
    )
    if len(parts) < n_parts:
        ok = ok & F.col("part_idx").isin(parts)
    rows = (
        locs.where(ok)
        .groupBy("part_idx")
        .agg(F.percentile(lon, 0.5).alias("lon"), F.percentile(lat, 0.5).alias("lat"))
        .collect()
    )
    return {r.part_idx: (r.lon, r.lat) for r in rows if r.lon is not None}


QUARANTINE_REASONS = ("nan", "zero_coordinates", "swapped", "out_of_range")


def with_quarantine_reason(locs: DataFrame, centres: list[tuple[float, float] | None], bounds) -> DataFrame:
    """One reason per row, precedence nan → zero_coordinates → swapped → out_of_range; NULL = keep.

    ``centres``: each partition's course centre (by part_idx); swapped is not tested without one."""
    lon, lat = F.col("longitude"), F.col("latitude")
    reason = F.when(F.isnan(lon) | F.isnan(lat), "nan").when((lon == 0) & (lat == 0), "zero_coordinates")
    if any(c is not None for c in centres):
        c_lon = per_partition([c[0] if c else None for c in centres])
        c_lat = per_partition([c[1] if c else None for c in centres])
        swapped = (_haversine_m(lon, lat, c_lon, c_lat) > SWAP_RADIUS_M) & (
            _haversine_m(lat, lon, c_lon, c_lat) < SWAP_RADIUS_M
        )
        reason = reason.when(swapped, "swapped")
    reason = reason.when(~_in_bounds(lon, lat, bounds), "out_of_range")
    return locs.withColumn("quarantine_reason", reason)


def ranked_for_dedup(flagged: DataFrame, partitions: int, batched: bool) -> DataFrame:
    """Records clustered by Bronze partition and event date into `partitions` tasks, each fix with its
    ``dup_rank``.

    The Silver tables are partitioned by (course_id, event_date or its month, ingest_date) or (course_id,
    ingest_date), and Iceberg writes one file per table partition a task meets. Hash-partitioned by
    (Bronze partition, event date) and sorted by them, the rows of every table partition are contiguous in
    each task, so they are written as they are by every table (``tables.overwrite_partitions``): one file per
    (course, event date, ingest date), and no shuffle or sort per write. This is the job's only shuffle of
    wide rows. The Bronze partition is its ``part_idx`` (one per (course_id, ingest_date) of the run); a run
    of one partition (``batched`` false) leaves the constant out, as the single-partition job did: the sort
    then starts with the event date, whose prefix settles most comparisons.

    Dedup rides on it. It stays within one Bronze partition. The identity is (round_id, fix_timestamp); a fix
    without a timestamp is identified by (round_id, location_index) instead (``dedup_slot``): it can only
    meet another copy of the same slot (the same export delivered twice, e.g. CSV + JSON twins), and two
    different slots with NULL timestamps are never merged. Both identities imply the event date, so the
    window below needs no second shuffle. Rank 1 is the best copy: a row that passed quarantine, then
    is_cache, then not is_projected, then the highest battery, then file, slot and row order. A good row
    with rank > 1 is a removed duplicate.
    """
    dedup_slot = F.when(F.col("fix_us").isNull(), F.col("location_index"))
    clustering = ["part_idx", "event_date"] if batched else ["event_date"]
    w = Window.partitionBy(*clustering, "round_id", "fix_us", "dedup_slot").orderBy(
        F.col("quarantine_reason").isNull().desc(),
        F.col("is_cache").desc_nulls_last(),
        F.col("is_projected").asc_nulls_last(),
        F.col("battery_percentage").desc_nulls_last(),
        F.col("source_file").asc(),
        F.col("location_index").asc(),
        F.col("row_id").asc(),
    )
    return (
        flagged.withColumn("dedup_slot", dedup_slot)
        .repartition(partitions, *clustering)
        .withColumn("dup_rank", F.row_number().over(w))
    )


def with_superseded(ranked: DataFrame, superseded: set[tuple[int, str]]) -> DataFrame:
    """``superseded``: the row's round is a copy that a newer delivery replaces (``silver.redelivery``), by
    (part_idx, round_id). A projection: the rows keep their clustering."""
    if not superseded:
        return ranked.withColumn("superseded", F.lit(False))
    keys = sorted(f"{i}:{round_id}" for i, round_id in superseded)
    return ranked.withColumn("superseded", F.concat_ws(":", F.col("part_idx").cast("string"), "round_id").isin(keys))


def partition_counts(ranked: DataFrame) -> dict[int, tuple[dict[str, int], dict[tuple[int, int], int]]]:
    """Per partition (part_idx): rows quarantined by reason, written (with and without timestamp), removed as
    duplicates and superseded by a newer delivery, and the best copies per (section_number, hole_number) for
    ``nine_band_starts``. The four kinds are disjoint and cover every real row: a duplicate is a duplicate
    whether or not its round is superseded; a superseded round's other rows count as superseded only.

    One pass, grouped by partition, section and hole (a few hundred groups each), answers both for every
    partition: one job, not one per partition and question. A partition without location rows is absent.
    ``ranked`` has ``superseded`` (``with_superseded``).
    """
    reason, superseded = F.col("quarantine_reason"), F.col("superseded")
    conditions = {
        **{r: (reason == r) & ~superseded for r in QUARANTINE_REASONS},
        "written": _is_kept(),
        "written_ts_missing": _is_kept() & F.col("fix_us").isNull(),
        "duplicates": reason.isNull() & (F.col("dup_rank") > 1),
        "superseded": superseded & (reason.isNotNull() | (F.col("dup_rank") == 1)),
        # the course's layout, for the nine bands: every best copy, superseded or not, so a partition gets the
        # same bands (and nine_number) whether its rounds were delivered again or not
        "banded": reason.isNull() & (F.col("dup_rank") == 1),
    }

    def count(condition: F.Column) -> F.Column:
        return F.sum(F.when(condition, 1).otherwise(0))

    groups = (
        ranked.where("is_location")
        .groupBy("part_idx", "section_number", "hole_number")
        .agg(*(count(c).alias(name) for name, c in conditions.items()))
        .collect()
    )
    by_part = defaultdict(list)
    for g in groups:
        by_part[g.part_idx].append(g)
    return {i: _counts(gs, conditions) for i, gs in by_part.items()}


def _counts(groups: list, conditions: dict) -> tuple[dict[str, int], dict[tuple[int, int], int]]:
    totals = {name: sum(g[name] for g in groups) for name in conditions}
    kept = {
        (g.section_number, g.hole_number): g.banded
        for g in groups
        if g.section_number is not None and g.hole_number is not None and g.banded
    }
    return totals, kept


def empty_counts() -> tuple[dict[str, int], dict[tuple[int, int], int]]:
    """``partition_counts`` of a partition without location rows."""
    names = (*QUARANTINE_REASONS, "written", "written_ts_missing", "duplicates", "superseded", "banded")
    return dict.fromkeys(names, 0), {}


def _is_kept() -> F.Column:
    """A ranked row that passed quarantine, is the best copy of its identity and belongs to the newest delivery
    of its round."""
    return F.col("quarantine_reason").isNull() & (F.col("dup_rank") == 1) & ~F.col("superseded")


def kept_rows(ranked: DataFrame) -> DataFrame:
    """The fixes written to the Silver tables: passed quarantine, best copy of their identity, newest delivery."""
    return ranked.where(F.col("is_location") & _is_kept())


def rejected_rows(ranked: DataFrame) -> DataFrame:
    """The rows written to quarantine: a reason, and the newest delivery of their round."""
    return ranked.where(F.col("is_location") & F.col("quarantine_reason").isNotNull() & ~F.col("superseded"))


def nine_band_starts(kept_by_section_hole: dict[tuple[int, int], int]) -> list[int]:
    """Section numbers where a new nine starts on courses whose hole numbers repeat.

    Walks sections in order by their most common hole among the kept fixes (``partition_counts``); a drop
    from hole ≥7 to hole ≤3 starts a new nine (a 27-hole site numbering 1–9 on each nine, or a 9-hole
    loop's second pass).
    """
    if sum(kept_by_section_hole.values()) < MIN_ROWS_FOR_NINE_BANDS:
        return []
    by_section: dict[int, Counter] = defaultdict(Counter)
    for (section, hole), count in kept_by_section_hole.items():
        by_section[section][hole] += count
    starts, previous = [], None
    for section in sorted(by_section):
        modal = min(by_section[section].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if previous is not None and previous >= 7 and modal <= 3:
            starts.append(section)
        previous = modal
    return starts


def nine_number(band_starts: list[list[int]]) -> F.Column:
    """Holes 10–18 → 2 (19–27 → 3); holes 1–9 or no hole → band of the section number in the row's
    partition (``band_starts`` by part_idx); else 1."""
    hole, section = F.col("hole_number"), F.col("section_number")
    if all(starts == band_starts[0] for starts in band_starts):  # one partition: as the single-partition job
        band = F.lit(1)
        for start in band_starts[0]:
            band = band + F.when(section >= start, 1).otherwise(0)
    else:
        starts = F.element_at(
            F.array(*[F.array(*[F.lit(s) for s in b]).cast("array<int>") for b in band_starts]), F.col("part_idx") + 1
        )
        band = F.size(F.filter(starts, lambda start: section >= start)) + 1
    by_section = F.when(section.isNotNull(), band).otherwise(F.lit(1))
    return F.when(hole >= 10, F.ceil(hole / 9).cast("int")).otherwise(by_section).cast("int")


def _valid_point(lon: F.Column, lat: F.Column) -> F.Column:
    return lon.isNotNull() & lat.isNotNull() & ~F.isnan(lon) & ~F.isnan(lat)


def _ordinate_text(x: F.Column) -> F.Column:
    """A coordinate as text: Java's shortest digits that read back as the same double (``-88.3433``, ``43.0``),
    in plain notation where Java would switch to an exponent (|x| < 0.001: ``0.0005``, not ``5.0E-4``)."""
    plain = F.regexp_replace(F.format_number(x, 24), "0+$", "")  # no thousands separator below 0.001
    return F.when((F.abs(x) >= 1e-3) | (x == 0), x.cast("string")).otherwise(plain)


def point_wkt(lon: F.Column, lat: F.Column) -> F.Column:
    """``POINT (lon lat)`` built from strings, and exact: the text reads back as the stored longitude and
    latitude. Sedona's ``ST_AsText`` rounds to 16 decimal places (``0.30000000000000004`` → ``0.3``), and in the
    100 MB benchmark's job its ``DecimalFormat`` made the fact write's tasks ~5 CPU-s slower (bench/README.md,
    session 7). The geometry itself is still Sedona's point (``geometry``, ``h3_cell_id``)."""
    return F.concat(F.lit("POINT ("), _ordinate_text(lon), F.lit(" "), _ordinate_text(lat), F.lit(")"))


def derive(rows: DataFrame, band_starts: list[list[int]], timezones: list[str], with_h3: bool) -> DataFrame:
    """DATA_CONTRACT §3 derived columns (timestamps stay UTC; local_* use the course time zone). Nine bands and
    time zones are each partition's (lists by part_idx).

    One projection: a chain of ``withColumn`` analyzes the growing plan once per column (0.72 s of driver time
    in the benchmark's job, against 0.47 s for ``withColumns``).
    """
    lon, lat, ts = F.col("longitude"), F.col("latitude"), F.col("fix_timestamp")
    local = F.from_utc_timestamp(ts, per_partition(timezones))
    valid = _valid_point(lon, lat)
    h3 = F.expr(f"ST_H3CellIDs(ST_Point(longitude, latitude), {H3_RESOLUTION}, false)")[0]
    return rows.withColumns(
        {
            "round_duration_minutes": F.round((F.col("round_end_us") - F.col("round_start_us")) / 60e6, 2),
            "pace": F.round("pace", 3),
            "pace_gap": F.round("pace_gap", 3),
            "positional_gap": F.round("positional_gap", 3),
            "nine_number": nine_number(band_starts),
            "is_timestamp_missing": ts.isNull(),
            "event_year": F.year(ts),
            "event_month": F.month(ts),
            "event_day": F.dayofmonth(ts),
            # ISO numbering 1 = Monday … 7 = Sunday (Spark's dayofweek is 1 = Sunday)
            "event_weekday": ((F.dayofweek(ts) + 5) % 7) + 1,
            "local_date": F.to_date(local),
            "local_hour": F.hour(local),
            "geometry": F.when(valid, F.expr("ST_AsBinary(ST_Point(longitude, latitude))")),
            "geometry_wkt": F.when(valid, point_wkt(lon, lat)),
            "is_location_padding": F.lit(False),
            "h3_cell_id": F.when(valid, h3) if with_h3 else F.lit(None).cast("bigint"),
        }
    )


def track_previews(kept: DataFrame, max_points: int = 150) -> dict[int, list[list[float]]]:
    """[lon, lat] points of each partition's longest round (most timed fixes; ties: lowest round id, NULL
    first), in time order, at most ``max_points``, for the UI's track sketch. Two jobs for the whole run: the
    fixes per round, then the chosen rounds' points (a round has at most a few hundred)."""
    timed = kept.where(F.col("fix_us").isNotNull())
    longest: dict[int, tuple] = {}
    for r in timed.groupBy("part_idx", "round_id").count().collect():
        rank = (-r["count"], r.round_id is not None, r.round_id or "")
        if r.part_idx not in longest or rank < longest[r.part_idx]:
            longest[r.part_idx] = rank
    chosen = {i: rank[2] for i, rank in longest.items() if rank[1]}  # a NULL round id has no points to show
    if not chosen:
        return {}
    points = defaultdict(list)
    rows = (
        timed.where(F.col("round_id").isin(sorted(set(chosen.values()))))
        .select("part_idx", "round_id", "fix_us", "longitude", "latitude")
        .collect()
    )
    for r in rows:
        if chosen.get(r.part_idx) == r.round_id:
            points[r.part_idx].append((r.fix_us, r.longitude, r.latitude))
    return {
        i: [
            [round(lon, 6), round(lat, 6)]
            for _, lon, lat in sorted(ps, key=lambda p: p[0])[:max_points]
            if lon is not None and lat is not None
        ]
        for i, ps in points.items()
    }
