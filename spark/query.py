"""Runs SQL statements on the profile's Spark session (Iceberg + Sedona) and prints JSON results.

Used by `fairway query` and by tests to read tables. One JSON object per statement on stdout:
``{"statement": <index>, "columns": [...], "rows": [[...], ...]}``. A failing statement prints
``{"statement": <index>, "error": "..."}`` and the job exits 1.

    python spark/query.py "SELECT count(*) FROM silver.fact_telemetry_event" [more statements...]
"""

from __future__ import annotations

import datetime
import decimal
import json
import sys

from session import ConfigError, build_session

MAX_ROWS = 10_000
# JSON readers in JavaScript parse numbers as doubles: larger integers (H3 cell ids, snapshot ids)
# are written as strings so they arrive exact.
MAX_SAFE_INTEGER = 2**53 - 1


def _jsonable(value):
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


def main(statements: list[str]) -> int:
    if not statements:
        print("usage: query.py <sql> [<sql> ...]", file=sys.stderr)
        return 2
    try:
        spark, _ = build_session("fairway-query")
    except ConfigError as e:
        print(f"query: {e}", file=sys.stderr)
        return 2
    status = 0
    for i, sql in enumerate(statements):
        try:
            df = spark.sql(sql)
            rows = [[_jsonable(v) for v in row] for row in df.limit(MAX_ROWS).collect()]
            print(json.dumps({"statement": i, "columns": df.columns, "rows": rows}), flush=True)
        except Exception as e:  # noqa: BLE001 - report any SQL error as data, keep going
            message = str(e).split("\n")[0]
            print(json.dumps({"statement": i, "error": message}), flush=True)
            status = 1
    spark.stop()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
