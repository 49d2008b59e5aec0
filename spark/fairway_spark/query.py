"""Runs SQL statements on the profile's Spark session (Iceberg + Sedona) and prints JSON results.

Used by `fairway query` and by tests to read tables. One JSON object per statement on stdout:
``{"statement": <index>, "columns": [...], "rows": [[...], ...]}``, plus ``"total_rows"`` when the result had
more than ``FAIRWAY_QUERY_MAX_ROWS`` rows (default 10,000; 0 = no limit) and only that many were returned. A
failing statement prints ``{"statement": <index>, "error": "..."}`` and the job exits 1.

    python -m fairway_spark.query "SELECT count(*) FROM silver.fact_telemetry_event" [more statements...]
"""

from __future__ import annotations

import datetime
import decimal
import json
import sys

from fairway_spark.session import ConfigError, build_session, watch_executors

DEFAULT_MAX_ROWS = 10_000
# JSON readers in JavaScript parse numbers as doubles: larger integers (H3 cell ids, snapshot ids)
# are written as strings so they arrive exact.
MAX_SAFE_INTEGER = 2**53 - 1


def jsonable(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return str(value)
    return value


def max_rows(env=None) -> int | None:
    """``FAIRWAY_QUERY_MAX_ROWS`` (default 10,000); None for 0 (every row)."""
    import os

    raw = (env if env is not None else os.environ).get("FAIRWAY_QUERY_MAX_ROWS", str(DEFAULT_MAX_ROWS))
    n = int(raw)
    return None if n == 0 else n


def collect(df, limit: int | None) -> dict:
    """The statement's columns and rows (at most ``limit``), and ``total_rows`` when rows were cut."""
    rows = df.collect() if limit is None else df.limit(limit + 1).collect()
    out = {"columns": df.columns}
    if limit is not None and len(rows) > limit:
        out["total_rows"] = df.count()
        rows = rows[:limit]
    out["rows"] = [[jsonable(v) for v in row] for row in rows]
    return out


def main(statements: list[str]) -> int:
    if not statements:
        print("usage: python -m fairway_spark.query <sql> [<sql> ...]", file=sys.stderr)
        return 2
    try:
        spark, _ = build_session("fairway-query")
        watch = watch_executors(spark)  # on a cluster: a query left waiting for an executor gives up, saying why
    except ConfigError as e:
        print(f"query: {e}", file=sys.stderr)
        return 2
    status = 0
    limit = max_rows()
    for i, sql in enumerate(statements):
        try:
            print(json.dumps({"statement": i, **collect(spark.sql(sql), limit)}), flush=True)
        except Exception as e:  # noqa: BLE001 - report any SQL error as data, keep going
            message = watch.reason if watch is not None and watch.reason else str(e).split("\n")[0]
            print(json.dumps({"statement": i, "error": message}), flush=True)
            status = 1
    if watch is not None:
        watch.stop()
    spark.stop()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
