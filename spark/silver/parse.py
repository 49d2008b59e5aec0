"""Bronze file → location records as Arrow batches (runs inside Spark's Python workers).

Every file is parsed with its own header (CSV) or as a whole document (JSON), so column sets and
orders may differ between files. Values are decoded with the counting rules of the sample README:
cells trimmed, empty → NULL, ``NaN`` (any case) → NaN, non-numeric → NULL, Mongo wrappers unwrapped.

``parse_file`` yields Arrow record batches of ``RECORD_SCHEMA``: ``loc`` records, one per real location
(padding slots are only counted), in file order, and one ``stats`` record for the file (last: its counts
cover the whole file). A CSV is decoded column by column with Arrow, a block of records at a time while
Arrow's reader parses the next blocks on another thread: a 100 MB export takes seconds, where a Python
loop over its ~20 million cells took ~25 CPU-seconds. Only round timestamps and JSON documents are
decoded in Python, with the scalar decoders below; the vectorized decoders follow the same rules
(tests/test_parse.py checks both on the same cells).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

csv.field_size_limit(1 << 30)

# Round-level source columns → Silver names (and how to decode them).
ROUND_FIELDS = {
    "_id": ("round_id", "id"),
    "course": ("course", "str"),
    "startTime": ("round_start_us", "ts"),
    "endTime": ("round_end_us", "ts"),
    "startHole": ("start_hole", "int"),
    "startSection": ("start_section", "int"),
    "endSection": ("end_section", "int"),
    "isNineHole": ("is_nine_hole", "bool"),
    "currentNine": ("current_nine", "int"),
    "goalTime": ("goal_time", "int"),
    "goalName": ("goal_name", "str"),
    "goalTimeFraction": ("goal_time_fraction", "float"),
    "complete": ("is_complete", "bool"),
    "isIncomplete": ("is_incomplete", "bool"),
    "isSecondary": ("is_secondary", "bool"),
    "isAutoAssigned": ("is_auto_assigned", "bool"),
    "device": ("device", "id"),
    "firstFix": ("first_fix", "id"),
    "lastFix": ("last_fix", "id"),
    "lastSectionStart": ("last_section_start", "float"),
    "currentSection": ("current_section", "int"),
    "currentHole": ("current_hole", "int"),
    "currentHoleSection": ("current_hole_section", "int"),
    "captureLogs": ("capture_logs", "jsontext"),
}
# The contract's docs call `complete` `isComplete`; accepted as a fallback, never reported as unknown.
ROUND_ALIASES = {"isComplete": "complete"}

LOCATION_FIELDS = {
    "hole": ("hole_number", "int"),
    "holeSection": ("hole_section", "int"),
    "sectionNumber": ("section_number", "int"),
    "startTime": ("fix_offset_seconds", "float"),
    "date": ("fix_date_us", "ts"),  # only a fallback for fix_us: decoded where needed, not a record field
    "fixCoordinates[0]": ("longitude", "float"),
    "fixCoordinates[1]": ("latitude", "float"),
    "pace": ("pace", "float"),
    "paceGap": ("pace_gap", "float"),
    "positionalGap": ("positional_gap", "float"),
    "batteryPercentage": ("battery_percentage", "float"),
    "isCache": ("is_cache", "bool"),
    "isProjected": ("is_projected", "bool"),
    "isProblem": ("is_problem", "bool"),
}
# Known location fields the contract says carry nothing for Silver (not reported as unknown).
LOCATION_IGNORED = {"_id", "fix", "heldUp", "holdingUp"}

_ARROW_KINDS = {"id": pa.string(), "str": pa.string(), "int": pa.int32(), "float": pa.float64(),
                "bool": pa.bool_(), "ts": pa.int64(), "jsontext": pa.string()}
# Location fields that become record fields: (source field, record field, kind).
_LOC_OUTPUT = [(f, name, kind) for f, (name, kind) in LOCATION_FIELDS.items() if name != "fix_date_us"]
# The records parse_file yields; silver/transform.py derives the Spark schema from it.
RECORD_SCHEMA = pa.schema(
    [("record_kind", pa.string()), ("source_file", pa.string()), ("source_format", pa.string()),
     ("file_stats", pa.string())]
    + [(name, _ARROW_KINDS[kind]) for name, kind in ROUND_FIELDS.values()]
    + [("location_index", pa.int32())]
    + [(name, _ARROW_KINDS[kind]) for _, name, kind in _LOC_OUTPUT]
    + [("fix_us", pa.int64()), ("extra_fields", pa.string())]
)
BATCH_ROWS = 65_536
# The records of a run of several Bronze partitions: each carries the number of its partition in the run.
TAGGED_SCHEMA = RECORD_SCHEMA.append(pa.field("part_idx", pa.int32()))

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SLOT = re.compile(r"locations\[(\d+)\]\.(.+)")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_NUMBER_RE2 = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"  # _NUMBER for Arrow (RE2, anchored)


# ---- value decoding ---------------------------------------------------------------------------


def _unwrap(v):
    """Mongo extended JSON wrappers → their payload; anything else unchanged."""
    if isinstance(v, dict) and len(v) == 1:
        key, inner = next(iter(v.items()))
        if key in ("$oid", "$numberDouble", "$numberLong", "$numberInt", "$numberDecimal", "$date"):
            return _unwrap(inner) if key == "$date" and isinstance(inner, dict) else inner
    return v


def to_float(v):
    v = _unwrap(v)
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        if s.lower() == "nan":
            return math.nan
        return float(s) if _NUMBER.fullmatch(s) else None
    return None


def to_int(v):
    f = to_float(v)
    if f is None or not math.isfinite(f) or abs(f) > 2**31 - 1:
        return None
    return int(f)  # truncation, like Spark's cast


def to_bool(v):
    v = _unwrap(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return None if (isinstance(v, float) and math.isnan(v)) else v != 0
    if isinstance(v, str):
        s = v.strip().lower()
        return True if s in _TRUE else False if s in _FALSE else None
    return None


def to_str(v):
    v = _unwrap(v)
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    s = str(v).strip()
    return s or None


def to_json_text(v):
    """captureLogs: CSV holds JSON text, JSON holds an array; both end as compact JSON text."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        return s or None
    return json.dumps(v, separators=(",", ":"))


def to_epoch_us(v):
    """ISO-8601 text (``…Z`` or with offset) or Mongo ``{"$date": ISO | millis | {"$numberLong": millis}}``
    → epoch µs. A bare number in a timestamp field is not a timestamp (NULL)."""
    if isinstance(v, dict) and "$date" in v:
        inner = v["$date"]
        if isinstance(inner, (dict, int, float)) and not isinstance(inner, bool):
            ms = to_float(inner)
            return int(round(ms * 1000)) if ms is not None and math.isfinite(ms) else None
        v = inner
    if not isinstance(v, str):
        return None
    s = v.strip()
    if not s:
        return None
    try:
        t = dt.datetime.fromisoformat(s[:-1] + "+00:00" if s[-1] in "Zz" else s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)  # exports are UTC
    delta = t - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


_DECODERS = {"id": to_str, "str": to_str, "int": to_int, "float": to_float, "bool": to_bool, "ts": to_epoch_us, "jsontext": to_json_text}


# ---- vectorized decoders (Arrow arrays of cell text; same rules as the scalar ones) -------------------


def _null_if_blank(trimmed: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def v_float(cells: pa.Array) -> pa.Array:
    s = pc.utf8_trim_whitespace(cells)
    numeric = pc.match_substring_regex(s, _NUMBER_RE2)
    values = pc.cast(pc.if_else(numeric, s, pa.scalar(None, pa.string())), pa.float64())
    return pc.if_else(pc.equal(pc.utf8_lower(s), "nan"), pa.scalar(math.nan), values)


def v_int(cells: pa.Array) -> pa.Array:
    f = v_float(cells)
    ok = pc.and_(pc.is_finite(f), pc.less_equal(pc.abs(f), 2**31 - 1))
    return pc.cast(pc.trunc(pc.if_else(ok, f, pa.scalar(None, pa.float64()))), pa.int32())


def v_bool(cells: pa.Array) -> pa.Array:
    s = pc.utf8_lower(pc.utf8_trim_whitespace(cells))
    known = pc.is_in(s, pa.array(sorted(_TRUE | _FALSE)))
    return pc.if_else(known, pc.is_in(s, pa.array(sorted(_TRUE))), pa.scalar(None, pa.bool_()))


def v_str(cells: pa.Array) -> pa.Array:
    return _null_if_blank(pc.utf8_trim_whitespace(cells))


_VECTOR_DECODERS = {"id": v_str, "str": v_str, "jsontext": v_str, "int": v_int, "float": v_float, "bool": v_bool}


def fix_epoch_us(start_us, offset_s, date_us):
    """round start + offset seconds, kept to the microsecond; the location's own `date` only as fallback."""
    if start_us is not None and offset_s is not None and math.isfinite(offset_s):
        return start_us + int(round(offset_s * 1_000_000))
    return date_us


def _v_fix_us(start_us: pa.Array, offset_s: pa.Array, dates: pa.Array | None) -> pa.Array:
    """fix_epoch_us over arrays; Python's round() (half to even) is Arrow's round half_to_even."""
    offset_us = pc.round(pc.multiply(offset_s, 1_000_000.0), round_mode="half_to_even")
    usable = pc.and_(pc.is_finite(offset_us), pc.less(pc.abs(offset_us), 2.0**62))  # beyond: not a time
    fix = pc.add(start_us, pc.cast(pc.if_else(usable, offset_us, pa.scalar(None, pa.float64())), pa.int64()))
    if dates is None:
        return fix
    missing = pc.is_null(fix)
    if not pc.any(missing).as_py():
        return fix
    fallback = [to_epoch_us(d) if m else None for d, m in zip(dates.to_pylist(), missing.to_pylist())]
    return pc.coalesce(fix, pa.array(fallback, pa.int64()))


# ---- records ------------------------------------------------------------------------------------


def tagged(batch: pa.RecordBatch, part_idx: int) -> pa.RecordBatch:
    """A batch of ``parse_file`` as a batch of TAGGED_SCHEMA: with the number of its Bronze partition."""
    column = pa.array(np.full(batch.num_rows, part_idx, dtype=np.int32))
    return pa.RecordBatch.from_arrays([*batch.columns, column], schema=TAGGED_SCHEMA)


def _stats_batch(name: str, fmt: str, **counts) -> pa.RecordBatch:
    values = {"record_kind": ["stats"], "source_file": [name], "source_format": [fmt],
              "file_stats": [json.dumps(counts, sort_keys=True)]}
    return pa.RecordBatch.from_arrays(
        [pa.array(values.get(f.name, [None]), f.type) for f in RECORD_SCHEMA], schema=RECORD_SCHEMA
    )


def _batches(columns: dict[str, pa.Array], n: int):
    """Record batches of RECORD_SCHEMA from whole columns (absent ones NULL), BATCH_ROWS at a time."""
    arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in RECORD_SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)
    yield from table.to_batches(max_chunksize=BATCH_ROWS)


def _round_values(get, present: set[str]) -> list:
    """Decoded round fields in ROUND_FIELDS order; `get(col)` returns the raw value or None."""
    out = []
    for col, (_, kind) in ROUND_FIELDS.items():
        raw = get(col)
        if raw is None and col == "complete" and "isComplete" in present:
            raw = get("isComplete")
        out.append(_DECODERS[kind](raw))
    return out


def detect_format(name: str, data: bytes) -> str:
    lower = name.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".csv"):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"[", b"{") else "csv"


def decode_text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def parse_file(path: str, data: bytes):
    """Yields the record batches of one Bronze file: its location records, then its stats record."""
    name = os.path.basename(path.rstrip("/"))
    fmt = detect_format(name, data)
    if not data.strip():
        yield _stats_batch(name, fmt, rejected="empty_file")
    elif fmt == "json":
        yield from _parse_json(name, decode_text(data))
    else:
        yield from _parse_csv(name, decode_text(data))


CSV_BLOCK_BYTES = 4 << 20  # records are decoded and handed on a block at a time, while Arrow reads ahead


def _csv_blocks(body: bytes, width: int, on_malformed):
    """The data records after the header as blocks of text cells (no type inference), read ahead by Arrow."""
    if not body.strip():
        return

    def malformed(row) -> str:  # a record whose cell count differs from the header's
        on_malformed()
        return "skip"

    names = [f"c{i}" for i in range(width)]
    yield from pacsv.open_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=True, block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=malformed),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False),
    )


class _CsvLayout:
    """What a CSV header says: where each round field and each slot's location fields are."""

    def __init__(self, header: list[str]):
        self.width = len(header)
        self.col = col = {h: i for i, h in enumerate(header)}
        slots: dict[int, dict[str, int]] = {}
        slot_cols: set[str] = set()
        for h, i in col.items():
            m = _SLOT.fullmatch(h)
            if m:
                slots.setdefault(int(m.group(1)), {})[m.group(2)] = i
                slot_cols.add(h)
        # A slot exists iff its startTime column exists; other slot columns are reported as unknown.
        self.slots = slots
        self.slot_ids = sorted(n for n, fields in slots.items() if "startTime" in fields)
        self.unknown_round = [h for h in header if h not in slot_cols and h not in ROUND_FIELDS and h not in ROUND_ALIASES]
        self.unknown_loc = sorted(
            {f for n in self.slot_ids for f in slots[n] if f not in LOCATION_FIELDS and f not in LOCATION_IGNORED}
        )
        orphan = sorted(h for h in slot_cols if int(_SLOT.fullmatch(h).group(1)) not in set(self.slot_ids))
        self.unknown = self.unknown_round + [f"locations[N].{f}" for f in self.unknown_loc] + orphan


def _parse_csv(name: str, text: str):
    reader_input = io.StringIO(text, newline="")
    header = next(csv.reader(reader_input), None)
    if not header:
        yield _stats_batch(name, "csv", rejected="no_records")
        return
    header = [h.strip() for h in header]
    for required in ("_id", "course"):
        if required not in header:
            yield _stats_batch(name, "csv", rejected=f"missing_required_column:{required}")
            return
    layout = _CsvLayout(header)
    counts = dict.fromkeys(("rounds", "records_malformed", "slots", "padding", "real", "empty_rounds"), 0)

    def on_malformed():
        counts["records_malformed"] += 1

    body = text[reader_input.tell():].encode("utf-8")
    for block in _csv_blocks(body, layout.width, on_malformed):
        if block.num_rows:
            yield from _csv_block_records(name, layout, block, counts)
    if counts["rounds"] == 0:
        yield _stats_batch(name, "csv", rejected="no_records", records_malformed=counts["records_malformed"])
    else:  # after the records: the counts cover the whole file
        yield _stats_batch(name, "csv", **counts, unknown_columns=layout.unknown)


def _csv_block_records(name: str, layout: _CsvLayout, block: pa.RecordBatch, counts: dict):
    """The location records of one block of CSV records (in file order); adds the block's counts."""
    rounds, slots, slot_ids = block.num_rows, layout.slots, layout.slot_ids
    cells = block.columns

    # A slot is real when its hole or sectionNumber is not blank; padding slots are only counted.
    def blank(i: int | None) -> np.ndarray:
        if i is None:
            return np.ones(rounds, dtype=bool)
        return pc.equal(pc.utf8_trim_whitespace(cells[i]), "").to_numpy(zero_copy_only=False)

    real = np.zeros((len(slot_ids), rounds), dtype=bool)  # [slot, record]
    for k, n in enumerate(slot_ids):
        real[k] = ~(blank(slots[n].get("hole")) & blank(slots[n].get("sectionNumber")))
    real_per_round = real.sum(axis=0)
    n_real = int(real_per_round.sum())
    counts["rounds"] += rounds
    counts["slots"] += rounds * len(slot_ids)
    counts["padding"] += rounds * len(slot_ids) - n_real
    counts["real"] += n_real
    counts["empty_rounds"] += int((real_per_round == 0).sum())
    if n_real == 0:
        return

    # Round-level values, one per record. Timestamps are decoded in Python (fromisoformat's forms).
    col = layout.col
    round_cols = {}
    for c, (out, kind) in ROUND_FIELDS.items():
        i = col.get(c, col.get("isComplete") if c == "complete" else None)
        if i is None:
            round_cols[out] = pa.nulls(rounds, _ARROW_KINDS[kind])
        elif kind == "ts":
            round_cols[out] = pa.array([to_epoch_us(v) for v in cells[i].to_pylist()], pa.int64())
        else:
            round_cols[out] = _VECTOR_DECODERS[kind](cells[i])
    extra_cells = {c: cells[col[c]].to_pylist() for c in layout.unknown_round}
    round_extra = [{c: v[r] for c, v in extra_cells.items() if v[r].strip()} for r in range(rounds)]

    # Location records in file order (record, then slot): positions into the slot-major concatenation
    # of each field's columns (slot 0's cells of every record, then slot 1's, …).
    record_of, slot_of = np.nonzero(real.T)
    order = pa.array(slot_of.astype(np.int64) * rounds + record_of)
    record_index = pa.array(record_of)

    def field_cells(f: str) -> pa.Array | None:
        if all(slots[n].get(f) is None for n in slot_ids):
            return None
        parts = [cells[slots[n][f]] if f in slots[n] else pa.nulls(rounds, pa.string()) for n in slot_ids]
        return pa.concat_arrays(parts).take(order)

    columns: dict[str, pa.Array] = {
        "record_kind": pa.array(["loc"] * n_real, pa.string()),
        "source_file": pa.array([name] * n_real, pa.string()),
        "source_format": pa.array(["csv"] * n_real, pa.string()),
        "location_index": pa.array(np.array(slot_ids, dtype=np.int32)[slot_of]),
    }
    for out, values in round_cols.items():
        columns[out] = values.take(record_index)
    for f, out, kind in _LOC_OUTPUT:
        text_cells = field_cells(f)
        columns[out] = pa.nulls(n_real, _ARROW_KINDS[kind]) if text_cells is None else _VECTOR_DECODERS[kind](text_cells)
    columns["fix_us"] = _v_fix_us(columns["round_start_us"], columns["fix_offset_seconds"], field_cells("date"))
    columns["extra_fields"] = _csv_extras(round_extra, record_of, [
        (f"locations[N].{f}", field_cells(f)) for f in layout.unknown_loc
    ])
    yield from _batches(columns, n_real)


def _csv_extras(round_extra: list[dict], record_of, loc_extra: list[tuple[str, pa.Array]]) -> pa.Array:
    """extra_fields: the non-blank cells of unknown columns as compact JSON (NULL when none)."""
    n = len(record_of)
    if not loc_extra and not any(round_extra):
        return pa.nulls(n, pa.string())
    loc_values = [(key, cells.to_pylist()) for key, cells in loc_extra]
    out = []
    for row, record in enumerate(record_of):
        extras = dict(round_extra[record])
        for key, values in loc_values:
            v = values[row]
            if v is not None and v.strip():
                extras[key] = v
        out.append(json.dumps(extras, separators=(",", ":"), sort_keys=True) if extras else None)
    return pa.array(out, pa.string())


def _parse_json(name: str, text: str):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        # reported in the stats record; the job stops with this message (unreadable input)
        yield _stats_batch(name, "json", error=f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})")
        return
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        yield _stats_batch(name, "json", rejected="no_records")
        return
    first = items[0]
    if isinstance(first, dict):
        for required in ("_id", "course"):
            if required not in first:
                yield _stats_batch(name, "json", rejected=f"missing_required_column:{required}")
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
            coords = _unwrap(loc.get("fixCoordinates"))
            coords = coords if isinstance(coords, list) else []
            lookup = dict(loc)
            lookup["fixCoordinates[0]"] = coords[0] if len(coords) > 0 else None
            lookup["fixCoordinates[1]"] = coords[1] if len(coords) > 1 else None
            values = {out: _DECODERS[kind](lookup.get(f)) for f, (out, kind) in LOCATION_FIELDS.items()}
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
    yield _stats_batch(
        name, "json", rounds=rounds, records_malformed=malformed, slots=real, padding=0, real=real,
        empty_rounds=empty_rounds, unknown_columns=sorted(unknown),
    )
