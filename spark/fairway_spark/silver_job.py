"""Silver job: Bronze partitions (course_id, ingest_date) → Iceberg Silver tables, many in one Spark application.

    python -m fairway_spark.silver_job --manifest FILE [options]
    python -m fairway_spark.silver_job --bronze-path DIR --course-id ID --ingest-date YYYY-MM-DD
                                       [--course-centre=LON,LAT] [--course-timezone ZONE] [options]

(with spark/ on PYTHONPATH). Over 400 lines on purpose: the run's stages, in order, in one class (``_BatchRun``),
so the job reads top to bottom; decoding, transforms, tables and the messages live in silver/.

The manifest (silver/manifest.py) lists the run's Bronze partitions: key, course id, ingest date, directory
(local or s3://), course centre and time zone. The single-partition options are a manifest of one, with the
partition key ``course_id=<id>,ingest_date=<day>``. The job reads every CSV (own header each) and JSON
file of all partitions in one Spark job, explodes locations, quarantines implausible coordinates, removes
duplicate fixes and replaces the rows of the partitions that succeeded in `<namespace>.fact_telemetry_event`,
`.fact_device_health` and `.quarantine_telemetry_event`: ONE atomic Iceberg commit per table for the whole
run. Each partition comes out exactly as if it had been run alone: dedup stays within it, and its
quarantine (swapped: its own centre), nine bands, local time (its own zone) and counts are its own. The one
exception is a round delivered in more than one partition (silver/redelivery.py): only its newest delivery is
written, in this run or already in the tables, and it replaces the older copies in the same commits.

Reports only through pipes (fairway_pipes), each partition's messages with its ``partition_key``:
- a partition written: a ``reconciliation`` check (real_rows = rows_written + quarantined + duplicates_removed +
  superseded_rows) and a materialization with its counts (and replaced_rows of older deliveries), the run's commit
  facts and ``batch_size``; data version ``<snapshot id>:<16-hex hash of its files and counts>``;
- a partition that failed (``no_input_files``, ``unreadable_input``, ``reconciliation_failed``): an error;
  it is not written (its old rows stay), the others are;
- a failure of the whole run (bad arguments, Spark, a commit): an error without partition key.
Exit code 0 when at least one partition was written, 1 when none was or the run failed, 2 on bad arguments.

Choices (see also docs/learning/iceberg_basics.md):
- Padding slots (CSV slots whose hole and sectionNumber are both empty) are counted, not written;
  `is_location_padding` stays in the table (always false) so dbt models that filter on it still work.
- fix_timestamp = round start + offset seconds with microseconds kept; the row's own `date` only
  when that is NULL. Dedup identity is (round_id, fix_timestamp) within one Bronze partition; rows without
  a timestamp are only merged with another copy of the same slot (round_id, location_index), e.g. CSV +
  JSON twins. A round in two Bronze partitions is kept whole from the newest one (silver/redelivery.py).
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
import threading
import time
import uuid

from fairway_pipes import Pipes, md_int, open_pipes
from fairway_spark.silver import local_decode, manifest, report
from fairway_spark.silver.errors import JobError
from fairway_spark.silver.manifest import Partition


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit; we want a JobError
        raise JobError(f"{message} (see --help)", code="bad_arguments", exit_code=2)


_SINGLE_OPTIONS = ("bronze_path", "course_id", "ingest_date", "course_centre", "course_timezone")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options; ``partitions`` is the run's list of ``manifest.Partition`` (position = part_idx)."""
    p = _Parser(prog="python -m fairway_spark.silver_job", description=__doc__.split("\n")[0])
    p.add_argument(
        "--manifest", metavar="FILE", help="JSON file listing the run's Bronze partitions (silver/manifest.py)"
    )
    p.add_argument("--bronze-path", help="directory of one Bronze partition (local or s3://)")
    p.add_argument("--course-id", type=manifest.course_id)
    p.add_argument("--ingest-date", type=manifest.iso_date, help="YYYY-MM-DD")
    p.add_argument("--course-centre", type=manifest.centre, help="lon,lat; default: median of the partition's fixes")
    p.add_argument("--course-timezone", type=manifest.timezone, help="IANA zone for local_date/local_hour; default UTC")
    p.add_argument("--namespace", default="silver", type=manifest.identifier)
    p.add_argument(
        "--branch",
        type=manifest.identifier,
        help="write to this Iceberg branch of every table (write-audit-publish), not to main",
    )
    p.add_argument("--min-lon", type=float, default=-180.0)
    p.add_argument("--max-lon", type=float, default=180.0)
    p.add_argument("--min-lat", type=float, default=-90.0)
    p.add_argument("--max-lat", type=float, default=90.0)
    args = p.parse_args(argv)
    if not (args.min_lon < args.max_lon and args.min_lat < args.max_lat):
        p.error("coordinate bounds must satisfy min < max")
    args.partitions = _partitions(p, args)
    return args


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _partitions(p: _Parser, args: argparse.Namespace) -> list[Partition]:
    """The manifest's partitions, or the single-partition options as a manifest of one."""
    single = [_option(name) for name in _SINGLE_OPTIONS if getattr(args, name) is not None]
    if args.manifest:
        if single:
            p.error(f"--manifest cannot be combined with {', '.join(single)}")
        return manifest.read(args.manifest)
    missing = [_option(name) for name in _SINGLE_OPTIONS[:3] if getattr(args, name) is None]
    if missing:
        p.error(
            f"either --manifest FILE or --bronze-path, --course-id and --ingest-date are required (missing {', '.join(missing)})"
        )
    if not manifest.is_uri(args.bronze_path) and not os.path.isdir(args.bronze_path):
        raise JobError(f"--bronze-path {args.bronze_path!r} is not a directory", code="unreadable_input", exit_code=2)
    return [
        manifest.single(args.bronze_path, args.course_id, args.ingest_date, args.course_centre, args.course_timezone)
    ]


def _run_id(pipes: Pipes | None) -> str:
    if pipes is not None and pipes.run_id:
        return str(pipes.run_id)
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def run(
    args: argparse.Namespace,
    spark,
    pipes: Pipes | None = None,
    spark_startup_ms: int | None = None,
    decode: local_decode.LocalDecode | None = None,
) -> dict:
    """Runs the job on an existing session; returns what it reported: ``partitions`` (partition key → the
    counts and commit facts of each partition written), ``failed`` (partition key → code, message, details)
    and the run's shared facts (``commits``, ``batch_size``, ...).

    ``decode``: the local partitions' decoding, started before the session was (``main``); without it local
    partitions start decoding here.
    """
    if decode is None:
        with local_decode.decoding(args.partitions, spark.sparkContext.master) as decode:
            return _BatchRun(args, spark, pipes, spark_startup_ms, decode).run()
    return _BatchRun(args, spark, pipes, spark_startup_ms, decode).run()


def configure_session(spark) -> None:
    # Whole-stage code generation fuses each stage into one large generated method. This job runs once
    # over a few million rows at most, so compiling those methods (Janino, then HotSpot's C2) costs
    # more than they save: without it, the 100 MB benchmark used ~18 CPU-s and ~8 s less
    # (bench/README.md, session 5). Expressions are still compiled, operator by operator.
    spark.conf.set("spark.sql.codegen.wholeStage", "false")
    # Adaptive execution re-plans the job after its one shuffle, whose partitioning (by Bronze partition and
    # event date, for the writers) is chosen here on purpose: 3 runs each, 82.7 → 78.6 s mean without it
    # (bench/README.md, session 5).
    spark.conf.set("spark.sql.adaptive.enabled", "false")


class _BatchRun:
    """One run of the job over the manifest's partitions. Partitions drop out as they fail (``_fail``);
    the rest are written together."""

    def __init__(self, args, spark, pipes: Pipes | None, spark_startup_ms: int | None, decode):
        self.args, self.spark, self.pipes, self.decode = args, spark, pipes, decode
        self.spark_startup_ms = spark_startup_ms
        self.parts: list[Partition] = args.partitions
        self.bounds = (args.min_lon, args.max_lon, args.min_lat, args.max_lat)
        self.run_id = _run_id(pipes)
        self.failed: dict[int, dict] = {}
        self.started = self._last = time.perf_counter()

    # -- reporting helpers
    def log(self, level: str, message: str, **fields) -> None:
        if self.pipes is not None:
            self.pipes.log(level, message, **fields)

    def step(self, name: str) -> None:  # debug timings per stage, for the compute log
        now = time.perf_counter()
        self.log("debug", "stage done", stage=name, ms=int((now - self._last) * 1000))
        self._last = now

    def _fail(self, i: int, message: str, code: str, details: dict | None = None) -> None:
        """Partition ``i`` is not written: reported now, with its key; the others go on."""
        if i in self.failed:
            return
        key = self.parts[i].key
        self.failed[i] = {"code": code, "message": message, "details": details or {}}
        if self.pipes is not None:
            self.pipes.report_error(message, code=code, details=details or None, partition_key=key)
        print(f"silver_job: error: {key}: {message}", file=sys.stderr)

    def _alive(self, candidates) -> list[int]:
        return [i for i in candidates if i not in self.failed]

    # -- the run
    def run(self) -> dict:
        from pyspark.storagelevel import StorageLevel

        from fairway_spark.silver import redelivery, transform

        configure_session(self.spark)
        files = self._list_inputs()
        self.step("list_files")
        self.log(
            "info",
            "reading bronze partitions",
            partitions=len(files),
            files=sum(len(f) for f in files.values()),
            bytes=sum(b for f in files.values() for _, b in f),
            batch_size=len(self.parts),
        )
        if not files:
            return self._result({}, {}, None)
        records = transform.typed_records(
            self._read(files), [p.course_id for p in self.parts], [p.ingest_date for p in self.parts]
        )
        centres = self._centres(records, list(files))
        flagged = transform.with_quarantine_reason(records, centres, self.bounds)
        shuffle_partitions = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        ranked = transform.ranked_for_dedup(flagged, shuffle_partitions, batched=len(self.parts) > 1)
        ranked = ranked.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            stats = self._file_stats(ranked, files)  # the first action: decodes and caches
            self.step("parse_dedup")
            # Reconciled first (superseding only moves rows between buckets), so the rule decides among the
            # partitions that are written: a failed partition never supersedes another.
            rows = transform.with_superseded(ranked, set())
            facts = self._counts(rows, files, stats)
            if not self._alive(facts):
                return self._result({}, {}, None)
            self._branch_tables()
            redelivered = redelivery.plan(
                self.spark, self.args.namespace, ranked, self.parts, self._alive(facts), ref=self.args.branch or "main"
            )
            self.step("redelivery")
            if redelivered.superseded:
                rows = transform.with_superseded(ranked, redelivered.superseded)
                facts = self._counts(rows, files, stats)
            written = self._alive(facts)
            for i in written:
                facts[i].update(redelivered.replaced_counts(i))
            commits, retained, schema = self._write(rows, written, facts, centres, redelivered)
        finally:
            ranked.unpersist()
        self._check_commits(commits, [facts[i] for i in written], retained)
        return self._result({i: facts[i] for i in written}, commits, schema)

    def _list_inputs(self) -> dict[int, list[tuple[str, int]]]:
        """(path, bytes) of each partition's files; a partition that cannot be listed or has none fails."""
        from fairway_spark.silver import transform

        listed: dict[int, list | JobError] = {}
        remote = {}
        for i, p in enumerate(self.parts):
            if self.decode is None or not self.decode.covers(i):
                remote[i] = p.bronze_path
            elif i in self.decode.list_errors:
                self._fail(i, self.decode.list_errors[i], "unreadable_input")
            else:
                listed[i] = self.decode.files[i]
        listed.update(transform.list_many(remote) if remote else {})
        files = {}
        for i, found in sorted(listed.items()):
            path = self.parts[i].bronze_path
            if isinstance(found, JobError):
                self._fail(i, str(found), found.code)
            elif not found:
                self._fail(i, f"no input files in {path}", "no_input_files")
            else:
                files[i] = found
        return files

    def _read(self, files: dict[int, list]):
        """One DataFrame of records of every listed partition: the local ones decoded in the driver, the
        remote ones read by tasks in one load."""
        from fairway_spark.silver import transform

        parts = []
        local = [i for i in files if self.decode is not None and self.decode.covers(i)]
        if local:
            parts.append(transform.read_decoded(self.spark, self.decode.parquet_dir()))
            for i, message in self.decode.read_errors.items():
                self._fail(i, message, "unreadable_input")
            self.step("decode_wait")
        remote = {i: found for i, found in files.items() if i not in local}
        if remote:
            parts.append(transform.read_partitions(self.spark, remote))
        parsed = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        return transform.with_row_id(parsed)

    def _centres(self, records, listed: list[int]) -> list[tuple[float, float] | None]:
        """Each partition's course centre (by part_idx): the manifest's, else the median of its fixes. Without a
        configured one the records are read once more, in one pass for all such partitions."""
        from fairway_spark.silver import transform

        centres = [p.course_centre for p in self.parts]
        missing = [i for i in listed if centres[i] is None]
        if missing:
            derived = transform.robust_centres(records, self.bounds, missing, len(self.parts))
            centres = [derived.get(i) if c is None else c for i, c in enumerate(centres)]
        return centres

    def _file_stats(self, ranked, files: dict[int, list]) -> dict[int, dict]:
        """Each listed partition's file stats (``transform.summarize_stats``); a partition with a file that
        could not be parsed, or listed but not read, fails."""
        from fairway_spark.silver import transform

        by_part = transform.stats_by_partition(transform.file_stats(ranked))
        stats = {}
        for i in self._alive(files):
            s = by_part.get(i) or transform.summarize_stats([])
            unread = sorted({os.path.basename(p) for p, size in files[i] if size} - {f["file"] for f in s["files"]})
            if s["errors"]:
                self._fail(i, "unreadable input: " + "; ".join(s["errors"]), "unreadable_input", {"files": s["errors"]})
            elif unread:
                self._fail(i, f"files listed but not read: {', '.join(unread)}", "unreadable_input", {"files": unread})
            else:
                stats[i] = s
                self._log_file_warnings(i, s)
        return stats

    def _log_file_warnings(self, i: int, s: dict) -> None:
        key = self.parts[i].key
        for r in s["rejected"]:
            self.log("warn", "file rejected", file=r["file"], reason=r["reason"], partition_key=key)
        if s["unknown_columns"]:
            self.log(
                "warn",
                "unknown source columns kept in extra_fields",
                unknown_columns=s["unknown_columns"],
                partition_key=key,
            )

    def _counts(self, rows, files: dict[int, list], stats: dict[int, dict]) -> dict[int, dict]:
        """Each partition's counts (one grouped pass for all), reconciled before anything is written: a
        partition whose real rows are not kept + quarantined + duplicates + superseded fails."""
        from fairway_spark.silver import transform

        counts = transform.partition_counts(rows)
        facts = {}
        for i in self._alive(stats):
            f = report.partition_facts(files[i], stats[i], *counts.get(i, transform.empty_counts()))
            if f["real_rows"] == sum(f[k] for k in report.RECONCILED):
                facts[i] = f
            else:
                self._fail_reconciliation(i, f)
        return facts

    def _fail_reconciliation(self, i: int, f: dict) -> None:
        details = {k: f[k] for k in ("real_rows", *report.RECONCILED)}
        message = f"reconciliation failed before write: real_rows {f['real_rows']} != " + " + ".join(
            f"{k} {f[k]}" for k in report.RECONCILED
        )
        if self.pipes is not None:
            self.pipes.report_check(
                "reconciliation",
                passed=False,
                severity="error",
                failures=1,
                description=message,
                metadata={k: md_int(v) for k, v in details.items()},
                partition_key=self.parts[i].key,
            )
        self._fail(i, message, "reconciliation_failed", details)

    def _write(
        self, rows, written: list[int], facts: dict[int, dict], centres: list, redelivered
    ) -> tuple[dict, dict, list[dict]]:
        """The kept and quarantined rows of the partitions ``written`` → the three tables, one commit each, with
        the older copies of re-delivered rounds taken out of their partitions in the same commit, validated
        against the snapshot the rule was decided on. Returns the commits, the rows of older partitions written
        again per table, and the schema."""
        from pyspark.sql import functions as F

        from fairway_spark.silver import redelivery, tables, transform

        kept, rejected = transform.kept_rows(rows), transform.rejected_rows(rows)
        if len(written) < len(self.parts):  # rows of failed partitions are not written
            kept, rejected = (df.where(F.col("part_idx").isin(written)) for df in (kept, rejected))
        tracks = transform.track_previews(kept)
        for i in written:
            bands = transform.nine_band_starts(facts[i].pop("kept_by_section_hole"))
            facts[i].update(
                nine_band_starts=bands,
                track_preview=tracks.get(i, []),
                course_centre=list(centres[i]) if centres[i] else None,
            )
        self.step("counts")
        # failed partitions have no rows here: any bands do (the written ones', to keep a literal for one)
        bands = [
            facts[i]["nine_band_starts"] if i in facts else facts[written[0]]["nine_band_starts"]
            for i in range(len(self.parts))
        ]
        zones = [p.course_timezone for p in self.parts]
        main = transform.derive(kept, bands, zones, with_h3=True)
        quarantine = transform.derive(rejected, bands, zones, with_h3=False).withColumn("run_id", F.lit(self.run_id))
        slices = [(self.parts[i].course_id, self.parts[i].ingest_date) for i in written]
        commits, retained = {}, {}
        removals, ns = redelivered.removals(written), self.args.namespace
        # every table is written from the ranked rows as they are: clustered by Bronze partition and event date
        for table, df in zip(tables.TABLE_NAMES, (main, main, quarantine)):
            name = tables.ensure_table(self.spark, ns, table)
            if self.args.branch:
                tables.ensure_branch(self.spark, name, self.args.branch)
            condition, df = tables.slices_condition(slices), tables.conform(df, table)
            old = redelivery.retained_rows(self.spark, ns, redelivered.snapshots, table, removals)
            if old is not None:  # partitions holding older copies of re-delivered rounds: rewritten without them
                old = old.persist()
                retained[table] = old.count()
                condition, df = condition | redelivery.old_partitions_condition(table, removals), df.unionByName(old)
            try:
                commits[table] = tables.overwrite_partitions(
                    df,
                    name,
                    condition,
                    self.run_id,
                    validate_from=redelivered.snapshots.get(table),
                    branch=self.args.branch,
                )
            finally:
                if old is not None:
                    old.unpersist()
            self.step(f"write_{table}")
        schema = tables.table_schema(
            self.spark, tables.qualified(self.spark, self.args.namespace, tables.TABLE_NAMES[0])
        )
        return commits, retained, schema

    def _branch_tables(self) -> None:
        """The run's audit branch of every existing table, made from main before anything is read: the run
        reads (older deliveries) and writes the branch only; main moves when the gate publishes it."""
        from fairway_spark.silver import tables

        if not self.args.branch:
            return
        for table in tables.TABLE_NAMES:
            name = tables.qualified(self.spark, self.args.namespace, table)
            if self.spark.catalog.tableExists(name):
                tables.ensure_branch(self.spark, name, self.args.branch)

    def _check_commits(self, commits: dict, written: list[dict], retained: dict[str, int]) -> None:
        """After the commits: what Iceberg says each table added must be what was counted for the partitions
        (plus the rows of older partitions written again without the replaced rounds)."""
        from fairway_spark.silver import tables

        kept = sum(f["rows_written"] for f in written)
        counted = (kept, kept, sum(f["quarantined_total"] for f in written))
        expected = {t: n + retained.get(t, 0) for t, n in zip(tables.TABLE_NAMES, counted)}
        wrong = {
            t: {"added_records": commits[t]["added_records"], "counted": n}
            for t, n in expected.items()
            if commits[t]["added_records"] != n
        }
        if wrong:
            raise JobError(
                f"reconciliation failed after write: added records differ from the counts: {wrong}",
                code="reconciliation_failed",
                details=wrong,
            )

    def _result(self, facts: dict[int, dict], commits: dict, schema: list[dict] | None) -> dict:
        duration_ms = int((time.perf_counter() - self.started) * 1000)
        shared = {
            "run_id": self.run_id,
            "batch_size": len(self.parts),
            "spark_master": self.spark.sparkContext.master,
            "spark_application_id": self.spark.sparkContext.applicationId,
            "commits": commits,
            "snapshot_id": commits["fact_telemetry_event"]["snapshot_id"] if commits else None,
            "table_rows_total": commits["fact_telemetry_event"]["total_records"] if commits else None,
            "duration_ms": duration_ms,
        }
        partitions = {}
        for i, f in facts.items():
            r = {**f, **shared, "partition_key": self.parts[i].key, "reconciled": True}
            r["data_version"] = report.data_version(r, self.parts[i])
            partitions[r["partition_key"]] = r
            if self.pipes is not None:
                report.report_partition(self.pipes, r, schema, self.spark_startup_ms)
        failed = {self.parts[i].key: f for i, f in sorted(self.failed.items())}
        self.log(
            "info",
            "silver partitions written",
            written=len(partitions),
            failed=len(failed),
            snapshot_id=shared["snapshot_id"],
            duration_ms=duration_ms,
        )
        return {**shared, "partitions": partitions, "failed": failed}


SIGTERM_GRACE_S = 20.0


def _exit_on_sigterm(signum, _frame) -> None:
    """The orchestrator cancels a run with SIGTERM: unwind (temporary files, pipes) instead of dying on the spot.

    If unwinding itself hangs (seen once in CI under heavy load, the signal landing while the JVM started), a
    watchdog exits hard after SIGTERM_GRACE_S with the same code; the next job removes what was left
    (``local_decode.remove_abandoned_dirs``)."""
    watchdog = threading.Timer(SIGTERM_GRACE_S, os._exit, args=(128 + signum,))
    watchdog.daemon = True
    watchdog.start()
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    pipes = open_pipes()
    try:
        args = parse_args(argv)
        from fairway_spark.session import ConfigError, build_session, spark_master, watch_executors

        # Local partitions are decoded while the JVM starts (silver/local_decode.py).
        with local_decode.decoding(args.partitions, spark_master()) as decode:
            try:
                spark, startup_ms = build_session("fairway-silver")
                watch = watch_executors(spark)
            except ConfigError as e:
                raise JobError(str(e), code="bad_configuration", exit_code=2) from None
            sc = spark.sparkContext
            pipes.log(
                "info",
                "spark session started",
                spark_startup_ms=startup_ms,
                spark_master=sc.master,
                spark_application_id=sc.applicationId,
            )
            # in the compute log: where to look for this application's executors (master UI, worker logs)
            print(f"silver_job: Spark application {sc.applicationId} on {sc.master}", file=sys.stderr, flush=True)
            try:
                result = run(args, spark, pipes, startup_ms, decode)
            except Exception:
                if watch is not None and watch.reason:  # its cancel is what failed the job
                    raise JobError(watch.reason, code="no_executors") from None
                raise
            finally:
                if watch is not None:
                    watch.stop()
        return 0 if result["partitions"] else 1
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
