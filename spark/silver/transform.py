"""Spark side of the Silver job: typed location rows, quarantine, dedup, derived columns."""

from __future__ import annotations

import json
import os
import re
import zlib
from collections import Counter, defaultdict

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.storagelevel import StorageLevel

from silver.parse import RECORD_FIELDS, detect_format, parse_file

_TYPES = {
    "record_kind": T.StringType(), "source_file": T.StringType(), "source_format": T.StringType(),
    "file_stats": T.StringType(), "round_id": T.StringType(), "course": T.StringType(),
    "round_start_us": T.LongType(), "round_end_us": T.LongType(), "start_hole": T.IntegerType(),
    "start_section": T.IntegerType(), "end_section": T.IntegerType(), "is_nine_hole": T.BooleanType(),
    "current_nine": T.IntegerType(), "goal_time": T.IntegerType(), "goal_name": T.StringType(),
    "goal_time_fraction": T.DoubleType(), "is_complete": T.BooleanType(), "is_incomplete": T.BooleanType(),
    "is_secondary": T.BooleanType(), "is_auto_assigned": T.BooleanType(), "device": T.StringType(),
    "first_fix": T.StringType(), "last_fix": T.StringType(), "last_section_start": T.DoubleType(),
    "current_section": T.IntegerType(), "current_hole": T.IntegerType(), "current_hole_section": T.IntegerType(),
    "capture_logs": T.StringType(), "location_index": T.IntegerType(), "hole_number": T.IntegerType(),
    "hole_section": T.IntegerType(), "section_number": T.IntegerType(), "fix_offset_seconds": T.DoubleType(),
    "fix_date_us": T.LongType(), "longitude": T.DoubleType(), "latitude": T.DoubleType(), "pace": T.DoubleType(),
    "pace_gap": T.DoubleType(), "positional_gap": T.DoubleType(), "battery_percentage": T.DoubleType(),
    "is_cache": T.BooleanType(), "is_projected": T.BooleanType(), "is_problem": T.BooleanType(),
    "fix_us": T.LongType(), "extra_fields": T.StringType(),
}
PARSED_SCHEMA = T.StructType([T.StructField(n, _TYPES[n], True) for n in RECORD_FIELDS])

EARTH_RADIUS_M = 6_371_008.8
SWAP_RADIUS_M = 5_000.0
H3_RESOLUTION = 11  # ~25 m hexagons: finer than a section, coarse enough to group fixes
MIN_ROWS_FOR_NINE_BANDS = 100


def list_files(spark: SparkSession, path: str) -> list[tuple[str, int]]:
    """(path, bytes) of every visible file in the partition directory (no contents read)."""
    rows = spark.read.format("binaryFile").load(path).select("path", "length").collect()
    return sorted((r.path, r.length) for r in rows)


# A CSV bigger than this is decoded by several tasks (one per SHARD_BYTES, at most one per core):
# decoding is pure Python, so one 100 MB export would otherwise keep a single core busy.
SHARD_BYTES = 48 << 20


def _cores(spark: SparkSession) -> int:
    sc = spark.sparkContext
    local = re.fullmatch(r"local\[(\d+|\*)\]", sc.master)
    if local:
        return (os.cpu_count() or 1) if local.group(1) == "*" else int(local.group(1))
    return sc.defaultParallelism


def _shards(path: str, content, max_shards: int, shard_bytes: int) -> list[tuple[int, tuple]]:
    """(partition key, (path, bytes, shard, shards)) units of one file; shards of a file get consecutive keys."""
    data = bytes(content)
    name = os.path.basename(path.rstrip("/"))
    k = 1
    if detect_format(name, data) == "csv":
        k = max(1, min(max_shards, -(-len(data) // shard_bytes)))
    key = zlib.crc32(path.encode("utf-8"))  # stable across Python workers, unlike hash()
    return [(key + i, (path, data, i, k)) for i in range(k)]


def read_partition(spark: SparkSession, path: str, n_files: int) -> tuple[DataFrame, list[dict]]:
    """All files of one Bronze partition → (records, per-file stats).

    Files are decoded in Python (silver/parse.py); a big CSV is split into shards decoded by parallel
    tasks. The records (``loc`` rows and one ``stats`` row per file, each with a ``row_id``) are cached:
    the files are parsed once, while the stats are collected.
    """
    files = spark.read.format("binaryFile").load(path).select("path", "content")
    max_shards, shard_bytes = max(1, _cores(spark)), SHARD_BYTES  # locals: the lambda below ships their values
    parts = max(1, min(n_files + max_shards - 1, spark.sparkContext.defaultParallelism * 2))
    rdd = (
        files.rdd.flatMap(lambda r: _shards(r.path, r.content, max_shards, shard_bytes))
        .partitionBy(parts, lambda key: key)
        .flatMap(lambda kv: parse_file(*kv[1]))
    )
    parsed = spark.createDataFrame(rdd, PARSED_SCHEMA, verifySchema=False)
    parsed = parsed.withColumn("row_id", F.monotonically_increasing_id()).persist(StorageLevel.MEMORY_AND_DISK)
    rows = parsed.where(F.col("record_kind") == "stats").select("source_file", "source_format", "file_stats").collect()
    return parsed, [{"file": r.source_file, "format": r.source_format, **json.loads(r.file_stats)} for r in rows]


def summarize_stats(file_stats: list[dict]) -> dict:
    """Per-file stats → partition totals plus the per-file detail."""
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
    return {"totals": dict(total), "files": files, "rejected": rejected, "errors": errors, "unknown_columns": sorted(unknown)}


def typed_locations(parsed: DataFrame, course_id: str, ingest_date: str) -> DataFrame:
    return (
        parsed.where(F.col("record_kind") == "loc")
        .drop("record_kind", "file_stats")
        .withColumn("course_id", F.lit(course_id))
        .withColumn("ingest_date", F.to_date(F.lit(ingest_date)))
        .withColumn("round_start_time", F.expr("timestamp_micros(round_start_us)"))
        .withColumn("round_end_time", F.expr("timestamp_micros(round_end_us)"))
        .withColumn("fix_timestamp", F.expr("timestamp_micros(fix_us)"))
        .withColumn("event_date", F.to_date(F.col("fix_timestamp")))
    )


def _haversine_m(lon: F.Column, lat: F.Column, c_lon: float, c_lat: float) -> F.Column:
    dlat = F.radians(lat - F.lit(c_lat))
    dlon = F.radians(lon - F.lit(c_lon))
    a = F.pow(F.sin(dlat / 2), 2) + F.cos(F.radians(F.lit(c_lat))) * F.cos(F.radians(lat)) * F.pow(F.sin(dlon / 2), 2)
    return F.lit(2 * EARTH_RADIUS_M) * F.asin(F.least(F.lit(1.0), F.sqrt(a)))


def _in_bounds(lon: F.Column, lat: F.Column, bounds: tuple[float, float, float, float]) -> F.Column:
    min_lon, max_lon, min_lat, max_lat = bounds
    return lon.between(min_lon, max_lon) & lat.between(min_lat, max_lat)


def robust_centre(locs: DataFrame, bounds) -> tuple[float, float] | None:
    """Median lon/lat of the partition's plausible fixes (finite, not (0,0), in bounds)."""
    lon, lat = F.col("longitude"), F.col("latitude")
    ok = (~F.isnan(lon)) & (~F.isnan(lat)) & ~((lon == 0) & (lat == 0)) & _in_bounds(lon, lat, bounds)
    row = locs.where(ok).agg(F.percentile(lon, 0.5).alias("lon"), F.percentile(lat, 0.5).alias("lat")).first()
    return (row.lon, row.lat) if row is not None and row.lon is not None else None


def with_quarantine_reason(locs: DataFrame, centre, bounds) -> DataFrame:
    """One reason per row, precedence nan → zero_coordinates → swapped → out_of_range; NULL = keep."""
    lon, lat = F.col("longitude"), F.col("latitude")
    reason = F.when(F.isnan(lon) | F.isnan(lat), "nan").when((lon == 0) & (lat == 0), "zero_coordinates")
    if centre is not None:
        c_lon, c_lat = centre
        swapped = (_haversine_m(lon, lat, c_lon, c_lat) > SWAP_RADIUS_M) & (
            _haversine_m(lat, lon, c_lon, c_lat) < SWAP_RADIUS_M
        )
        reason = reason.when(swapped, "swapped")
    reason = reason.when(~_in_bounds(lon, lat, bounds), "out_of_range")
    return locs.withColumn("quarantine_reason", reason)


def duplicate_row_ids(good: DataFrame) -> DataFrame:
    """``row_id`` (and ``fix_us``) of every copy dedup removes: all but the best of each identity.

    The identity is (round_id, fix_timestamp). A row without a timestamp is identified by
    (round_id, location_index) instead: it can only meet another copy of the same slot (the same
    export delivered twice, e.g. CSV + JSON twins); two different slots with NULL timestamps are never
    merged. Only identities seen more than once are ranked, so the wide rows are never shuffled. The
    best copy: is_cache, then not is_projected, then the highest battery, then file, slot and row order.
    """
    identity = F.when(F.col("fix_us").isNotNull(), F.concat(F.lit("t"), F.col("fix_us").cast("string"))).otherwise(
        F.concat(F.lit("i"), F.col("location_index").cast("string"))
    )
    keyed = good.select(
        "row_id", "round_id", identity.alias("dedup_identity"), "fix_us", "is_cache", "is_projected",
        "battery_percentage", "source_file", "location_index",
    )
    repeated = keyed.groupBy("round_id", "dedup_identity").count().where(F.col("count") > 1).drop("count")
    w = Window.partitionBy("round_id", "dedup_identity").orderBy(
        F.col("is_cache").desc_nulls_last(),
        F.col("is_projected").asc_nulls_last(),
        F.col("battery_percentage").desc_nulls_last(),
        F.col("source_file").asc(),
        F.col("location_index").asc(),
        F.col("row_id").asc(),
    )
    return (
        keyed.join(repeated, ["round_id", "dedup_identity"], "left_semi")
        .withColumn("dup_rank", F.row_number().over(w))
        .where(F.col("dup_rank") > 1)
        .select("row_id", "fix_us")
    )


def clustered_by_event_date(rows: DataFrame, partitions: int) -> DataFrame:
    """Rows grouped into `partitions` tasks by event date, each task sorted by (course_id, event_date).

    The Silver tables are partitioned by (course_id, event_date or its month) and Iceberg writes one file
    per table partition a task meets. Clustered once here, before the cache, both tables are written
    from the cache as they are (``tables.overwrite_partition(clustered=True)``): one file per event date (per month
    and task for device health), and no shuffle or sort per write.
    """
    return rows.repartition(partitions, "event_date").sortWithinPartitions("course_id", "event_date")


def nine_band_starts(rows: DataFrame) -> list[int]:
    """Section numbers where a new nine starts on courses whose hole numbers repeat.

    Walks sections in order by their most common hole; a drop from hole ≥7 to hole ≤3 starts a new
    nine (a 27-hole site numbering 1–9 on each nine, or a 9-hole loop's second pass).
    """
    counts = rows.where(F.col("section_number").isNotNull() & F.col("hole_number").isNotNull()).groupBy(
        "section_number", "hole_number"
    ).count().collect()
    if sum(r["count"] for r in counts) < MIN_ROWS_FOR_NINE_BANDS:
        return []
    by_section: dict[int, Counter] = defaultdict(Counter)
    for r in counts:
        by_section[r.section_number][r.hole_number] += r["count"]
    starts, previous = [], None
    for section in sorted(by_section):
        modal = min(by_section[section].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if previous is not None and previous >= 7 and modal <= 3:
            starts.append(section)
        previous = modal
    return starts


def nine_number(band_starts: list[int]) -> F.Column:
    """Holes 10–18 → 2 (19–27 → 3); holes 1–9 or no hole → band of the section number; else 1."""
    hole, section = F.col("hole_number"), F.col("section_number")
    band = F.lit(1)
    for start in band_starts:
        band = band + F.when(section >= start, 1).otherwise(0)
    by_section = F.when(section.isNotNull(), band).otherwise(F.lit(1))
    return F.when(hole >= 10, F.ceil(hole / 9).cast("int")).otherwise(by_section).cast("int")


def _valid_point(lon: F.Column, lat: F.Column) -> F.Column:
    return lon.isNotNull() & lat.isNotNull() & ~F.isnan(lon) & ~F.isnan(lat)


def derive(rows: DataFrame, band_starts: list[int], timezone: str, with_h3: bool) -> DataFrame:
    """DATA_CONTRACT §3 derived columns (timestamps stay UTC; local_* use the course time zone)."""
    lon, lat, ts = F.col("longitude"), F.col("latitude"), F.col("fix_timestamp")
    local = F.from_utc_timestamp(ts, timezone)
    out = (
        rows.withColumn("round_duration_minutes", F.round((F.col("round_end_us") - F.col("round_start_us")) / 60e6, 2))
        .withColumn("pace", F.round("pace", 3))
        .withColumn("pace_gap", F.round("pace_gap", 3))
        .withColumn("positional_gap", F.round("positional_gap", 3))
        .withColumn("nine_number", nine_number(band_starts))
        .withColumn("is_timestamp_missing", ts.isNull())
        .withColumn("event_year", F.year(ts))
        .withColumn("event_month", F.month(ts))
        .withColumn("event_day", F.dayofmonth(ts))
        # ISO numbering 1 = Monday … 7 = Sunday (Spark's dayofweek is 1 = Sunday)
        .withColumn("event_weekday", ((F.dayofweek(ts) + 5) % 7) + 1)
        .withColumn("local_date", F.to_date(local))
        .withColumn("local_hour", F.hour(local))
        .withColumn("geometry", F.when(_valid_point(lon, lat), F.expr("ST_AsBinary(ST_Point(longitude, latitude))")))
        .withColumn("geometry_wkt", F.when(_valid_point(lon, lat), F.expr("ST_AsText(ST_Point(longitude, latitude))")))
        .withColumn("is_location_padding", F.lit(False))
    )
    if with_h3:
        h3 = F.expr(f"ST_H3CellIDs(ST_Point(longitude, latitude), {H3_RESOLUTION}, false)")[0]
        out = out.withColumn("h3_cell_id", F.when(_valid_point(lon, lat), h3))
    else:
        out = out.withColumn("h3_cell_id", F.lit(None).cast("bigint"))
    return out
