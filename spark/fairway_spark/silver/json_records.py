"""A JSON export (an array of round documents, or one) → location records, decoded in Python.

Every array element of a round's ``locations`` is a real location; values use the scalar decoders
(silver/decoders.py), Mongo extended JSON wrappers included.
"""

from __future__ import annotations

import json

import pyarrow as pa

from fairway_spark.silver.decoders import DECODERS, fix_epoch_us, unwrap
from fairway_spark.silver.records import (
    BATCH_ROWS,
    LOCATION_FIELDS,
    LOCATION_IGNORED,
    RECORD_SCHEMA,
    ROUND_ALIASES,
    ROUND_FIELDS,
    stats_batch,
)


def json_records(name: str, text: str):
    """Yields the record batches of one JSON file (named ``name``): its location records, then its stats record."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        # reported in the stats record; the job stops with this message (unreadable input)
        yield stats_batch(name, "json", error=f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})")
        return
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        yield stats_batch(name, "json", rejected="no_records")
        return
    first = items[0]
    if isinstance(first, dict):
        for required in ("_id", "course"):
            if required not in first:
                yield stats_batch(name, "json", rejected=f"missing_required_column:{required}")
                return

    rounds = malformed = real = empty_rounds = 0
    unknown: set[str] = set()
    rows = []
    known_round = set(ROUND_FIELDS) | set(ROUND_ALIASES) | {"locations"}
    for item in items:
        if not isinstance(item, dict):
            malformed += 1
            continue
        rounds += 1
        round_vals = _round_values(item.get, set(item))
        round_extra = {k: v for k, v in item.items() if k not in known_round and v is not None}
        unknown.update(round_extra)
        locations = item.get("locations")
        if not isinstance(locations, list) or not locations:
            empty_rounds += 1
            continue
        for index, loc in enumerate(locations):
            real += 1  # every JSON array element is a real row
            loc = loc if isinstance(loc, dict) else {}
            coords = unwrap(loc.get("fixCoordinates"))
            coords = coords if isinstance(coords, list) else []
            lookup = dict(loc)
            lookup["fixCoordinates[0]"] = coords[0] if len(coords) > 0 else None
            lookup["fixCoordinates[1]"] = coords[1] if len(coords) > 1 else None
            values = {out: DECODERS[kind](lookup.get(f)) for f, (out, kind) in LOCATION_FIELDS.items()}
            extras = dict(round_extra)
            for k, v in loc.items():
                if k not in LOCATION_FIELDS and k not in LOCATION_IGNORED and k != "fixCoordinates" and v is not None:
                    extras[f"locations[N].{k}"] = v
                    unknown.add(f"locations[N].{k}")
            values["fix_us"] = fix_epoch_us(round_vals[2], values["fix_offset_seconds"], values.pop("fix_date_us"))
            values["extra_fields"] = json.dumps(extras, separators=(",", ":"), sort_keys=True) if extras else None
            values.update(zip((out for out, _ in ROUND_FIELDS.values()), round_vals))
            values.update(record_kind="loc", source_file=name, source_format="json", location_index=index)
            rows.append(values)
            if len(rows) == BATCH_ROWS:  # handed on a batch at a time: bounded memory, and the JVM starts early
                yield pa.RecordBatch.from_pylist(rows, schema=RECORD_SCHEMA)
                rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=RECORD_SCHEMA)
    yield stats_batch(
        name,
        "json",
        rounds=rounds,
        records_malformed=malformed,
        slots=real,
        padding=0,
        real=real,
        empty_rounds=empty_rounds,
        unknown_columns=sorted(unknown),
    )


def _round_values(get, present: set[str]) -> list:
    """Decoded round fields in ROUND_FIELDS order; `get(col)` returns the raw value or None."""
    out = []
    for col, (_, kind) in ROUND_FIELDS.items():
        raw = get(col)
        if raw is None and col == "complete" and "isComplete" in present:
            raw = get("isComplete")
        out.append(DECODERS[kind](raw))
    return out
