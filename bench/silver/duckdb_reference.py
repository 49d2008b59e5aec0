"""Near-limit reference for the Silver benchmark: one DuckDB pass over the wide CSV export.

    python duckdb_reference.py --out OUT.parquet FILE.csv [FILE.csv …]

read_csv with every column as VARCHAR (records whose cell count differs from the header are skipped,
as Silver drops them) → one row per location slot (UNNEST of a list of per-slot
structs built from the `locations[N].*` columns) → padding slots dropped (hole and sectionNumber both
empty) → typed columns, fix timestamp = round start + offset → one zstd Parquet file.
No quarantine, dedup, derived geometry or Iceberg commit: this is what "read, explode, cast, write"
costs on this machine, a floor for the Spark job, not an equivalent of it.
Prints one JSON object: rows, rounds, elapsed_s (the COPY only), duckdb version, threads.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import duckdb

# Pinned: bench/silver/run-silver-bench.ts installs exactly this into bench/.venv-duckdb.
DUCKDB_VERSION = "2.0.0"

SLOT = re.compile(r"locations\[(\d+)\]\.(.+)")
# round columns → (output name, SQL type)
ROUND = {
    "_id": ("round_id", "VARCHAR"),
    "course": ("course", "VARCHAR"),
    "startTime": ("round_start_time", "TIMESTAMPTZ"),
    "endTime": ("round_end_time", "TIMESTAMPTZ"),
    "startHole": ("start_hole", "INTEGER"),
    "startSection": ("start_section", "INTEGER"),
    "endSection": ("end_section", "INTEGER"),
    "isNineHole": ("is_nine_hole", "BOOLEAN"),
    "currentNine": ("current_nine", "INTEGER"),
    "goalTime": ("goal_time", "INTEGER"),
    "goalName": ("goal_name", "VARCHAR"),
    "goalTimeFraction": ("goal_time_fraction", "DOUBLE"),
    "complete": ("is_complete", "BOOLEAN"),
    "isIncomplete": ("is_incomplete", "BOOLEAN"),
    "isSecondary": ("is_secondary", "BOOLEAN"),
    "isAutoAssigned": ("is_auto_assigned", "BOOLEAN"),
    "device": ("device", "VARCHAR"),
    "firstFix": ("first_fix", "VARCHAR"),
    "lastFix": ("last_fix", "VARCHAR"),
    "lastSectionStart": ("last_section_start", "DOUBLE"),
    "currentSection": ("current_section", "INTEGER"),
    "currentHole": ("current_hole", "INTEGER"),
    "currentHoleSection": ("current_hole_section", "INTEGER"),
    "captureLogs": ("capture_logs", "VARCHAR"),
}
LOCATION = {
    "hole": ("hole_number", "INTEGER"),
    "holeSection": ("hole_section", "INTEGER"),
    "sectionNumber": ("section_number", "INTEGER"),
    "startTime": ("fix_offset_seconds", "DOUBLE"),
    "date": ("fix_date", "TIMESTAMPTZ"),
    "fixCoordinates[0]": ("longitude", "DOUBLE"),
    "fixCoordinates[1]": ("latitude", "DOUBLE"),
    "pace": ("pace", "DOUBLE"),
    "paceGap": ("pace_gap", "DOUBLE"),
    "positionalGap": ("positional_gap", "DOUBLE"),
    "batteryPercentage": ("battery_percentage", "DOUBLE"),
    "isCache": ("is_cache", "BOOLEAN"),
    "isProjected": ("is_projected", "BOOLEAN"),
    "isProblem": ("is_problem", "BOOLEAN"),
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cast(expr: str, sql_type: str) -> str:
    text = f"nullif(trim({expr}), '')"
    if sql_type == "VARCHAR":
        return text
    if sql_type == "INTEGER":  # Spark-like: numeric text truncated to an int
        return f"TRY_CAST(trunc(TRY_CAST({text} AS DOUBLE)) AS INTEGER)"
    return f"TRY_CAST({text} AS {sql_type})"


def build_query(files: list[str], columns: list[str], out: str) -> str:
    slots: dict[int, dict[str, str]] = {}
    for c in columns:
        m = SLOT.fullmatch(c)
        if m and m.group(2) in LOCATION:
            slots.setdefault(int(m.group(1)), {})[m.group(2)] = c
    structs = []
    for n in sorted(slots):
        fields = [f"location_index: {n}"] + [
            f"{quote(field)}: {quote(slots[n][field]) if field in slots[n] else 'NULL::VARCHAR'}" for field in LOCATION
        ]
        structs.append("{" + ", ".join(fields) + "}")
    source = f"read_csv([{', '.join(repr(f) for f in files)}], all_varchar = true, header = true, union_by_name = true, ignore_errors = true)"
    rounds = [f"{cast(quote(c), t)} AS {name}" for c, (name, t) in ROUND.items() if c in columns]
    locs = [f"{cast('loc.' + quote(f), t)} AS {name}" for f, (name, t) in LOCATION.items()]
    return f"""
COPY (
  WITH exploded AS (
    SELECT {", ".join(quote(c) for c in ROUND if c in columns)}, UNNEST([{", ".join(structs)}]) AS loc
    FROM {source}
  )
  SELECT {", ".join(rounds)}, loc.location_index AS location_index, {", ".join(locs)},
         TRY_CAST(nullif(trim("startTime"), '') AS TIMESTAMPTZ)
           + to_microseconds(CAST(round(TRY_CAST(nullif(trim(loc."startTime"), '') AS DOUBLE) * 1e6) AS BIGINT))
           AS fix_timestamp
  FROM exploded
  WHERE nullif(trim(loc."hole"), '') IS NOT NULL OR nullif(trim(loc."sectionNumber"), '') IS NOT NULL
) TO {out!r} (FORMAT parquet, COMPRESSION zstd)
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("files", nargs="+")
    args = p.parse_args()
    if duckdb.__version__ != DUCKDB_VERSION:
        raise SystemExit(f"duckdb {DUCKDB_VERSION} expected, found {duckdb.__version__} (re-create bench/.venv-duckdb)")
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")  # no order needed; lets DuckDB write in parallel
    con.execute("SET TimeZone = 'UTC'")
    source = f"read_csv([{', '.join(repr(f) for f in args.files)}], all_varchar = true, header = true, union_by_name = true, ignore_errors = true)"
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    query = build_query(args.files, columns, args.out)
    started = time.perf_counter()
    con.execute(query)
    elapsed = time.perf_counter() - started
    rows, rounds = con.execute(f"SELECT count(*), count(DISTINCT round_id) FROM read_parquet({args.out!r})").fetchone()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(
        json.dumps(
            {
                "rows": rows,
                "rounds": rounds,
                "elapsed_s": round(elapsed, 3),
                "duckdb": duckdb.__version__,
                "threads": threads,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
