"""What the Silver job reports for each partition it wrote: its numbers, its data version and its messages.

Every message carries the partition's key (a run of many partitions reports each one as a single-partition run
would); the orchestrator reads them through ``fairway_pipes``.
"""

from __future__ import annotations

import hashlib
import json
import os

from fairway_pipes import Pipes, md_int, md_json, md_row_count, md_table_schema, md_text
from fairway_spark.silver.manifest import Partition


def partition_facts(files: list[tuple[str, int]], stats: dict, counts: dict, kept_by_section_hole: dict) -> dict:
    """One partition's numbers, as a single-partition run reported them."""
    totals = stats["totals"]
    quarantined = {r: counts[r] for r in ("nan", "zero_coordinates", "swapped", "out_of_range")}
    return {
        "files": len(files),
        "file_list": [[os.path.basename(p), size] for p, size in files],
        "rows_read": int(totals.get("slots", 0)),
        "padding_rows": int(totals.get("padding", 0)),
        "real_rows": int(totals.get("real", 0)),
        "records_malformed": int(totals.get("records_malformed", 0)),
        "rounds": int(totals.get("rounds", 0)),
        "empty_rounds": int(totals.get("empty_rounds", 0)),
        "files_rejected": stats["rejected"],
        "rows_written": counts["written"],
        "quarantined": quarantined,
        "quarantined_total": sum(quarantined.values()),
        "duplicates_removed": counts["duplicates"],
        "superseded_rows": counts["superseded"],
        "timestamp_missing": counts["written_ts_missing"],
        "unknown_columns": stats["unknown_columns"],
        "kept_by_section_hole": kept_by_section_hole,
    }


# every real row is one of these (silver/redelivery.py for superseded_rows)
RECONCILED = ("rows_written", "quarantined_total", "duplicates_removed", "superseded_rows")

VERSIONED = (
    "file_list",
    "rows_read",
    "real_rows",
    "rows_written",
    "quarantined",
    "duplicates_removed",
    "superseded_rows",
    "timestamp_missing",
    "nine_band_starts",
    "course_centre",
)


def data_version(r: dict, partition: Partition) -> str:
    """``<snapshot id>:<hash>``: the commit that wrote the partition, and a hash of what was written for it
    (its key, file names and sizes, counts), so two partitions of one commit have different versions."""
    content = {"partition_key": partition.key, **{k: r[k] for k in VERSIONED}}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{r['snapshot_id']}:{digest}"


def report_partition(pipes: Pipes, r: dict, schema: list[dict], spark_startup_ms: int | None) -> None:
    """The messages of a partition written: its ``reconciliation`` check and its materialization (``r``: a
    partition of the run's result, ``data_version`` included)."""
    key = r["partition_key"]
    pipes.report_check(
        "reconciliation",
        passed=r["reconciled"],
        severity="error",
        failures=0 if r["reconciled"] else 1,
        description="real_rows = rows_written + quarantined + duplicates_removed + superseded_rows",
        metadata={k: md_int(r[k]) for k in ("real_rows", *RECONCILED)},
        partition_key=key,
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
        "superseded_rows": md_int(r["superseded_rows"]),
        "replaced_rows": md_int(r["replaced_rows"]),
        "replaced_quarantined_rows": md_int(r["replaced_quarantined_rows"]),
        "timestamp_missing_rows": md_int(r["timestamp_missing"]),
        "unknown_columns": md_json(r["unknown_columns"]),
        "files_rejected": md_json(r["files_rejected"]),
        "nine_band_starts": md_json(r["nine_band_starts"]),
        "run_id": md_text(r["run_id"]),
        "batch_size": md_int(r["batch_size"]),
        "spark_master": md_text(r["spark_master"]),
        "spark_application_id": md_text(r["spark_application_id"]),
    }
    if r["replaced_ingest_dates"]:
        metadata["replaced_ingest_dates"] = md_json(r["replaced_ingest_dates"])
    if r["course_centre"]:
        metadata["course_centre"] = md_json(r["course_centre"])
    if r.get("track_preview"):
        metadata["track_preview"] = md_json(r["track_preview"])
    if spark_startup_ms is not None:
        metadata["spark_startup_ms"] = md_int(spark_startup_ms)
    for table in ("fact_device_health", "quarantine_telemetry_event"):
        metadata[f"{table}_snapshot_id"] = md_text(r["commits"][table]["snapshot_id"])
    pipes.report_materialization(data_version=r["data_version"], metadata=metadata, partition_key=key)
    pipes.log(
        "debug",
        "silver partition written",
        partition_key=key,
        rows_written=r["rows_written"],
        data_version=r["data_version"],
    )
