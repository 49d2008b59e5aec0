"""Silver job: one Bronze partition (course_id, ingest_date) → Iceberg Silver tables.

    python spark/silver_job.py --bronze-path DIR --course-id ID --ingest-date YYYY-MM-DD [options]

Reads every CSV (own header each) and JSON file of the partition directory (local or s3a://),
explodes locations, quarantines implausible coordinates, removes duplicate fixes and replaces this
partition's rows in `<namespace>.fact_telemetry_event`, `.fact_device_health` and
`.quarantine_telemetry_event`, each in one atomic Iceberg commit. Reports only through pipes
(spark/pipes.py). Exit code 0 on success, 2 on bad arguments, 1 on any other failure.

Choices (see also docs/learning/iceberg_basics.md):
- Padding slots (CSV slots whose hole and sectionNumber are both empty) are counted, not written;
  `is_location_padding` stays in the table (always false) so dbt models that filter on it still work.
- fix_timestamp = round start + offset seconds with microseconds kept; the row's own `date` only
  when that is NULL. Dedup identity is (round_id, fix_timestamp); rows without a timestamp are only
  merged with another copy of the same slot (round_id, location_index), e.g. CSV + JSON twins.
- event_weekday is ISO: 1 = Monday … 7 = Sunday.
- nine_number: holes 10–18 → 2 (19–27 → 3); holes 1–9 → the section band, where a band starts at a
  section whose most common hole drops from ≥7 to ≤3 (27-hole sites numbering 1–9 per nine, 9-hole
  loops' second pass); no seed file.
- fact_device_health has one row per fix written to fact_telemetry_event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import time
import uuid
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pipes import Pipes, md_float, md_int, md_json, md_row_count, md_table_schema, md_text, open_pipes  # noqa: E402
from silver import local_decode  # noqa: E402
from silver.errors import JobError  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit; we want a JobError
        raise JobError(f"{message} (see --help)", code="bad_arguments", exit_code=2)


def _iso_date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat() if len(value) == 10 else _bad_date(value)
    except ValueError:
        return _bad_date(value)


def _bad_date(value: str):
    raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {value!r}")


def _centre(value: str) -> tuple[float, float]:
    try:
        lon, lat = (float(p) for p in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'lon,lat', got {value!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise argparse.ArgumentTypeError(f"lon,lat out of range: {value!r}")
    return lon, lat


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown IANA time zone {value!r}") from None
    return value


def _identifier(value: str) -> str:
    if not value.replace("_", "").isalnum() or not value[0].isalpha():
        raise argparse.ArgumentTypeError(f"must be a SQL identifier (letters, digits, _), got {value!r}")
    return value.lower()


def _course_id(value: str) -> str:
    if not value.strip() or any(c in value for c in "'\"\\/\n"):
        raise argparse.ArgumentTypeError(f"invalid course id {value!r}")
    return value.strip()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog="silver_job.py", description=__doc__.split("\n")[0])
    p.add_argument("--bronze-path", required=True, help="directory of one Bronze partition (local or s3a://)")
    p.add_argument("--course-id", required=True, type=_course_id)
    p.add_argument("--ingest-date", required=True, type=_iso_date, help="YYYY-MM-DD")
    p.add_argument("--course-centre", type=_centre, help="lon,lat; default: median of the partition's fixes")
    p.add_argument("--course-timezone", default="UTC", type=_timezone, help="IANA zone for local_date/local_hour")
    p.add_argument("--namespace", default="silver", type=_identifier)
    p.add_argument("--min-lon", type=float, default=-180.0)
    p.add_argument("--max-lon", type=float, default=180.0)
    p.add_argument("--min-lat", type=float, default=-90.0)
    p.add_argument("--max-lat", type=float, default=90.0)
    args = p.parse_args(argv)
    if not (args.min_lon < args.max_lon and args.min_lat < args.max_lat):
        p.error("coordinate bounds must satisfy min < max")
    if "://" not in args.bronze_path and not os.path.isdir(args.bronze_path):
        raise JobError(f"--bronze-path {args.bronze_path!r} is not a directory", code="unreadable_input", exit_code=2)
    return args


def _run_id(pipes: Pipes | None) -> str:
    if pipes is not None and pipes.run_id:
        return str(pipes.run_id)
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def bronze_path(args: argparse.Namespace) -> str:
    return args.bronze_path if "://" in args.bronze_path else os.path.abspath(args.bronze_path)


def run(args: argparse.Namespace, spark, pipes: Pipes | None = None, spark_startup_ms: int | None = None,
        decode: local_decode.LocalDecode | None = None) -> dict:
    """Runs the job on an existing session; returns the counts and commit facts it reported.

    ``decode``: the partition's decoding, started before the session was (``main``); without it a local
    partition starts decoding here.
    """
    if decode is None:
        with local_decode.decoding(bronze_path(args), spark.sparkContext.master) as decode:
            return _run(args, spark, pipes, spark_startup_ms, decode)
    return _run(args, spark, pipes, spark_startup_ms, decode)


def _run(args: argparse.Namespace, spark, pipes: Pipes | None, spark_startup_ms: int | None,
         decode: local_decode.LocalDecode | None) -> dict:
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    from silver import tables, transform

    started = time.perf_counter()
    # Whole-stage code generation fuses each stage into one large generated method. This job runs once
    # over a few million rows at most, so compiling those methods (Janino, then HotSpot's C2) costs
    # more than they save: without it, the 100 MB benchmark used ~18 CPU-s and ~8 s less
    # (bench/README.md, session 5). Expressions are still compiled, operator by operator.
    spark.conf.set("spark.sql.codegen.wholeStage", "false")
    # Adaptive execution re-plans the job after its one shuffle, whose partitioning (by event date, for the
    # writers) is chosen here on purpose: 3 runs each, 82.7 → 78.6 s mean without it (bench/README.md, session 5).
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    run_id = _run_id(pipes)
    log = pipes.log if pipes is not None else (lambda *a, **k: None)
    last = [started]

    def step(name: str) -> None:  # debug timings per stage, for the compute log
        now = time.perf_counter()
        log("debug", "stage done", stage=name, ms=int((now - last[0]) * 1000))
        last[0] = now
    bounds = (args.min_lon, args.max_lon, args.min_lat, args.max_lat)
    path = bronze_path(args)

    try:
        files = decode.files if decode else transform.list_files(spark, path)
    except Exception as e:  # Spark's "Path does not exist", permissions, s3a errors
        raise JobError(f"cannot list {path}: {str(e).splitlines()[0]}", code="unreadable_input") from None
    if not files:
        raise JobError(f"no input files in {path}", code="no_input_files")
    step("list_files")
    log("info", "reading bronze partition", path=path, files=len(files), bytes=sum(b for _, b in files))

    if decode:
        parsed = transform.read_decoded(spark, decode.parquet_dir())
        step("decode_wait")
    else:
        parsed = transform.read_partition(spark, path, len(files))
    records = transform.typed_records(parsed, args.course_id, args.ingest_date)
    # Without a configured centre, the records are read once more for it (a course missing from the reference).
    centre = tuple(args.course_centre) if args.course_centre else transform.robust_centre(records, bounds)
    flagged = transform.with_quarantine_reason(records, centre, bounds)
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    ranked = transform.ranked_for_dedup(flagged, partitions).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        stats = transform.summarize_stats(transform.file_stats(ranked))  # the first action: decodes and caches
        if stats["errors"]:
            raise JobError("unreadable input: " + "; ".join(stats["errors"]), code="unreadable_input", details={"files": stats["errors"]})
        for r in stats["rejected"]:
            log("warn", "file rejected", file=r["file"], reason=r["reason"])
        if stats["unknown_columns"]:
            log("warn", "unknown source columns kept in extra_fields", unknown_columns=stats["unknown_columns"])
        totals = stats["totals"]
        step("parse_dedup")

        counts, kept_by_section_hole = transform.partition_counts(ranked)
        quarantined = {r: counts[r] for r in transform.QUARANTINE_REASONS}
        duplicates_removed = counts["duplicates"]
        ts_missing = counts["good_ts_missing"] - counts["duplicates_ts_missing"]
        real, kept_rows = int(totals.get("real", 0)), counts["good"] - duplicates_removed
        if real != kept_rows + sum(quarantined.values()) + duplicates_removed:  # checked before anything is written
            _fail_reconciliation(pipes, real, kept_rows, sum(quarantined.values()), duplicates_removed, "before write")

        kept = transform.kept_rows(ranked)
        track = _track_preview(kept)
        bands = transform.nine_band_starts(kept_by_section_hole)
        step("counts")
        main = transform.derive(kept, bands, args.course_timezone, with_h3=True)
        rejected = transform.rejected_rows(ranked)
        quarantine = transform.derive(rejected, bands, args.course_timezone, with_h3=False).withColumn("run_id", F.lit(run_id))

        commits = {}
        writes = (  # every table is written from the ranked rows as they are: clustered by event date
            ("fact_telemetry_event", main),
            ("fact_device_health", main),
            ("quarantine_telemetry_event", quarantine),
        )
        for table, df in writes:
            name = tables.ensure_table(spark, args.namespace, table)
            commits[table] = tables.overwrite_partition(tables.conform(df, table), name, args.course_id, args.ingest_date, run_id)
            step(f"write_{table}")
        main_name = tables.qualified(spark, args.namespace, "fact_telemetry_event")
        schema = tables.table_schema(spark, main_name)
    finally:
        ranked.unpersist()

    written = commits["fact_telemetry_event"]["added_records"]
    quarantined_total = commits["quarantine_telemetry_event"]["added_records"]
    result = {
        "run_id": run_id,
        "files": len(files),
        "rows_read": int(totals.get("slots", 0)),
        "padding_rows": int(totals.get("padding", 0)),
        "real_rows": real,
        "records_malformed": int(totals.get("records_malformed", 0)),
        "rounds": int(totals.get("rounds", 0)),
        "empty_rounds": int(totals.get("empty_rounds", 0)),
        "files_rejected": stats["rejected"],
        "rows_written": written,
        "quarantined": quarantined,
        "quarantined_total": quarantined_total,
        "duplicates_removed": duplicates_removed,
        "timestamp_missing": ts_missing,
        "unknown_columns": stats["unknown_columns"],
        "course_centre": list(centre) if centre else None,
        "nine_band_starts": bands,
        "snapshot_id": commits["fact_telemetry_event"]["snapshot_id"],
        "table_rows_total": commits["fact_telemetry_event"]["total_records"],
        "commits": commits,
        "duration_ms": int((time.perf_counter() - started) * 1000),
        "track_preview": track,
    }
    # after the commits: what Iceberg says was added must be what we counted
    reconciled = written == kept_rows and quarantined_total == sum(quarantined.values())
    result["reconciled"] = reconciled
    if not reconciled:
        _fail_reconciliation(pipes, real, written, quarantined_total, duplicates_removed, "after write")
    if pipes is not None:
        _report(pipes, result, schema, spark_startup_ms)
    return result


def _track_preview(kept, max_points: int = 150) -> list[list[float]]:
    """[lon, lat] points of the partition's longest round, in time order, for the UI's track sketch."""
    from pyspark.sql import functions as F

    with_ts = kept.where(F.col("fix_us").isNotNull())
    top = with_ts.groupBy("round_id").count().orderBy(F.desc("count"), "round_id").first()
    if top is None:
        return []
    rows = (
        with_ts.where(F.col("round_id") == top["round_id"])
        .orderBy("fix_us")
        .select("longitude", "latitude")
        .limit(max_points)
        .collect()
    )
    return [[round(r.longitude, 6), round(r.latitude, 6)] for r in rows if r.longitude is not None and r.latitude is not None]


def _fail_reconciliation(pipes: Pipes | None, real: int, written: int, quarantined: int, duplicates: int, when: str):
    message = (
        f"reconciliation failed {when}: real_rows {real} != rows_written {written} + quarantined {quarantined}"
        f" + duplicates_removed {duplicates}"
    )
    details = {"real_rows": real, "rows_written": written, "quarantined": quarantined, "duplicates_removed": duplicates}
    if pipes is not None:
        pipes.report_check("reconciliation", passed=False, severity="error", failures=1, description=message,
                           metadata={k: md_int(v) for k, v in details.items()})
    raise JobError(message, code="reconciliation_failed", details=details)


def _report(pipes: Pipes, r: dict, schema: list[dict], spark_startup_ms: int | None) -> None:
    pipes.report_check(
        "reconciliation",
        passed=r["reconciled"],
        severity="error",
        failures=0 if r["reconciled"] else 1,
        description="real_rows = rows_written + quarantined + duplicates_removed",
        metadata={k: md_int(v) for k, v in (("real_rows", r["real_rows"]), ("rows_written", r["rows_written"]), ("quarantined", r["quarantined_total"]), ("duplicates_removed", r["duplicates_removed"]))},
    )
    metadata = {
        "row_count": md_row_count(r["rows_written"]),
        "table_rows_total": md_int(r["table_rows_total"]),
        "table_schema": md_table_schema(schema),
        "snapshot_id": md_text(r["snapshot_id"]),
        "duration_ms": md_int(r["duration_ms"]),
        "files": md_int(r["files"]),
        "rows_read": md_int(r["rows_read"]),
        "padding_rows": md_int(r["padding_rows"]),
        "real_rows": md_int(r["real_rows"]),
        "records_malformed": md_int(r["records_malformed"]),
        "rounds": md_int(r["rounds"]),
        "empty_rounds": md_int(r["empty_rounds"]),
        "quarantined_rows": md_int(r["quarantined_total"]),
        "quarantined_by_reason": md_json(r["quarantined"]),
        "duplicates_removed": md_int(r["duplicates_removed"]),
        "timestamp_missing_rows": md_int(r["timestamp_missing"]),
        "unknown_columns": md_json(r["unknown_columns"]),
        "files_rejected": md_json(r["files_rejected"]),
        "nine_band_starts": md_json(r["nine_band_starts"]),
        "run_id": md_text(r["run_id"]),
    }
    if r["course_centre"]:
        metadata["course_centre"] = md_json(r["course_centre"])
    if r.get("track_preview"):
        metadata["track_preview"] = md_json(r["track_preview"])
    if spark_startup_ms is not None:
        metadata["spark_startup_ms"] = md_int(spark_startup_ms)
    for table in ("fact_device_health", "quarantine_telemetry_event"):
        metadata[f"{table}_snapshot_id"] = md_text(r["commits"][table]["snapshot_id"])
    pipes.report_materialization(data_version=r["snapshot_id"], metadata=metadata)
    pipes.log("info", "silver partition written", rows_written=r["rows_written"], snapshot_id=r["snapshot_id"], duration_ms=r["duration_ms"])


def _exit_on_sigterm(signum, _frame) -> None:
    """The orchestrator cancels a run with SIGTERM: unwind (temporary files, pipes) instead of dying on the spot."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    pipes = open_pipes()
    try:
        args = parse_args(argv)
        from session import ConfigError, build_session, spark_master

        # A local partition is decoded while the JVM starts (silver/local_decode.py).
        with local_decode.decoding(bronze_path(args), spark_master()) as decode:
            try:
                spark, startup_ms = build_session("fairway-silver")
            except ConfigError as e:
                raise JobError(str(e), code="bad_configuration", exit_code=2) from None
            pipes.log("info", "spark session started", spark_startup_ms=startup_ms)
            run(args, spark, pipes, startup_ms, decode)
        return 0
    except JobError as e:
        pipes.report_error(str(e), code=e.code, details=e.details or None)
        print(f"silver_job: error: {e}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # unexpected: keep the trace in the compute log, report one clean line
        import traceback

        traceback.print_exc()
        pipes.report_error(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", code="internal_error")
        return 1
    finally:
        pipes.close()


if __name__ == "__main__":
    sys.exit(main())
