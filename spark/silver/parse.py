"""Bronze file → location records, in plain Python (runs inside Spark's Python workers).

Every file is parsed with its own header (CSV) or as a whole document (JSON), so column sets and
orders may differ between files. Values are decoded with the counting rules of the sample README:
cells trimmed, empty → NULL, ``NaN`` (any case) → NaN, non-numeric → NULL, Mongo wrappers unwrapped.

``parse_file`` yields one ``("stats", …)`` record per file followed by ``("loc", …)`` records, one
per real location (padding slots are only counted), as tuples in the order of ``RECORD_FIELDS``.
A large CSV can be split between tasks: ``parse_file(path, data, shard, shards)`` decodes only every
``shards``-th record (from ``shard``); shard 0 alone yields the stats record, counted over the whole file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re

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
    "date": ("fix_date_us", "ts"),
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

# Order of the tuples parse_file yields; silver/transform.py declares the matching Spark schema.
RECORD_FIELDS = (
    ["record_kind", "source_file", "source_format", "file_stats"]
    + [name for name, _ in ROUND_FIELDS.values()]
    + ["location_index"]
    + [name for name, _ in LOCATION_FIELDS.values()]
    + ["fix_us", "extra_fields"]
)
_INDEX = {name: i for i, name in enumerate(RECORD_FIELDS)}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SLOT = re.compile(r"locations\[(\d+)\]\.(.+)")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MISSING = object()
_MEMO_LIMIT = 1 << 18  # distinct cell texts memoized per decoder kind and file (bounds the memory)


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


def fix_epoch_us(start_us, offset_s, date_us):
    """round start + offset seconds, kept to the microsecond; the location's own `date` only as fallback."""
    if start_us is not None and offset_s is not None and math.isfinite(offset_s):
        return start_us + int(round(offset_s * 1_000_000))
    return date_us


# ---- records ------------------------------------------------------------------------------------


def _stats(name: str, fmt: str, **counts) -> tuple:
    rec = [None] * len(RECORD_FIELDS)
    rec[0], rec[1], rec[2] = "stats", name, fmt
    rec[3] = json.dumps(counts, sort_keys=True)
    return tuple(rec)


def _round_values(get, present: set[str]) -> list:
    """Decoded round fields in ROUND_FIELDS order; `get(col)` returns the raw value or None."""
    out = []
    for col, (_, kind) in ROUND_FIELDS.items():
        raw = get(col)
        if raw is None and col == "complete" and "isComplete" in present:
            raw = get("isComplete")
        out.append(_DECODERS[kind](raw))
    return out


def _loc_record(name: str, fmt: str, round_vals: list, index: int, loc_vals: list, extras: dict) -> tuple:
    start_us = round_vals[2]
    offset = loc_vals[3]
    date_us = loc_vals[4]
    extra = json.dumps(extras, separators=(",", ":"), sort_keys=True) if extras else None
    return tuple(["loc", name, fmt, None] + round_vals + [index] + loc_vals + [fix_epoch_us(start_us, offset, date_us), extra])


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


def parse_file(path: str, data: bytes, shard: int = 0, shards: int = 1):
    """Yields the stats record of one Bronze file, then its location records.

    With ``shards`` > 1 (CSV only) the call yields the location records of the CSV records whose index
    modulo ``shards`` is ``shard``; the stats record (whole file) comes only from shard 0.
    """
    name = os.path.basename(path.rstrip("/"))
    fmt = detect_format(name, data)
    if shards > 1 and fmt != "csv":
        raise ValueError(f"only CSV files can be parsed in shards, not {name}")
    if not data.strip():
        if shard == 0:
            yield _stats(name, fmt, rejected="empty_file")
        return
    if fmt == "json":
        yield from _parse_json(name, decode_text(data))
    else:
        for record in _parse_csv(name, decode_text(data), shard, shards):
            if shard == 0 or record[0] != "stats":
                yield record


def _parse_csv(name: str, text: str, shard: int = 0, shards: int = 1):
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if not header:
        yield _stats(name, "csv", rejected="no_records")
        return
    header = [h.strip() for h in header]
    for required in ("_id", "course"):
        if required not in header:
            yield _stats(name, "csv", rejected=f"missing_required_column:{required}")
            return
    col = {h: i for i, h in enumerate(header)}

    slots: dict[int, dict[str, int]] = {}
    slot_cols: set[str] = set()
    for h, i in col.items():
        m = _SLOT.fullmatch(h)
        if m:
            slots.setdefault(int(m.group(1)), {})[m.group(2)] = i
            slot_cols.add(h)
    # A slot exists iff its startTime column exists; other slot columns are reported as unknown.
    slot_ids = sorted(n for n, fields in slots.items() if "startTime" in fields)
    unknown_round = [h for h in header if h not in slot_cols and h not in ROUND_FIELDS and h not in ROUND_ALIASES]
    unknown_loc = sorted(
        {f for n in slot_ids for f in slots[n] if f not in LOCATION_FIELDS and f not in LOCATION_IGNORED}
    )
    orphan = sorted(h for h in slot_cols if int(_SLOT.fullmatch(h).group(1)) not in set(slot_ids))
    unknown = unknown_round + [f"locations[N].{f}" for f in unknown_loc] + orphan
    present = set(header)
    width = len(header)
    # Per slot: (cell index, memo, decoder) for each location field, in LOCATION_FIELDS order. Decoders are
    # pure functions of the cell text and cells repeat a lot (booleans, holes, battery), so each kind
    # memoizes its results per file: the same values, without a Python call per cell.
    memos = {kind: {} for kind in _DECODERS}
    loc_cols = [
        (
            n,
            [(slots[n].get(f), memos[kind], _DECODERS[kind]) for f, (_, kind) in LOCATION_FIELDS.items()],
            {f: slots[n][f] for f in unknown_loc if f in slots[n]},
        )
        for n in slot_ids
    ]
    hole_sec = [(slots[n].get("hole"), slots[n].get("sectionNumber")) for n in slot_ids]

    rounds = malformed = padding = real = empty_rounds = 0
    out = []
    for cells in rows:
        if not cells:
            continue  # blank line: not a record
        if len(cells) != width:
            malformed += 1
            continue
        rounds += 1
        if (rounds - 1) % shards != shard:
            if shard == 0:  # shard 0 reports the whole file's counts
                empty = True
                for hi, si in hole_sec:
                    if (hi is not None and cells[hi].strip()) or (si is not None and cells[si].strip()):
                        real += 1
                        empty = False
                    else:
                        padding += 1
                empty_rounds += empty
            continue
        round_vals = _round_values(lambda c: cells[col[c]] if c in col else None, present)
        round_extra = {c: cells[col[c]] for c in unknown_round if cells[col[c]].strip()}
        real_here = 0
        for (n, idxs, extra_idx), (hi, si) in zip(loc_cols, hole_sec):
            hole_raw = cells[hi].strip() if hi is not None else ""
            sec_raw = cells[si].strip() if si is not None else ""
            if not hole_raw and not sec_raw:
                padding += 1
                continue
            real_here += 1
            loc_vals = []
            for i, memo, decode in idxs:
                if i is None:
                    loc_vals.append(None)
                    continue
                raw = cells[i]
                value = memo.get(raw, _MISSING)
                if value is _MISSING:
                    value = decode(raw)
                    if len(memo) < _MEMO_LIMIT:
                        memo[raw] = value
                loc_vals.append(value)
            if round_extra or extra_idx:
                extras = dict(round_extra)
                extras.update({f"locations[N].{f}": cells[i] for f, i in extra_idx.items() if cells[i].strip()})
            else:
                extras = None
            out.append(_loc_record(name, "csv", round_vals, n, loc_vals, extras))
        real += real_here
        if real_here == 0:
            empty_rounds += 1
    if rounds == 0:
        yield _stats(name, "csv", rejected="no_records", records_malformed=malformed)
        return
    yield _stats(
        name, "csv", rounds=rounds, records_malformed=malformed, slots=rounds * len(slot_ids),
        padding=padding, real=real, empty_rounds=empty_rounds, unknown_columns=unknown,
    )
    yield from out


def _parse_json(name: str, text: str):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        # reported in the stats record; the job stops with this message (unreadable input)
        yield _stats(name, "json", error=f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})")
        return
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        yield _stats(name, "json", rejected="no_records")
        return
    first = items[0]
    if isinstance(first, dict):
        for required in ("_id", "course"):
            if required not in first:
                yield _stats(name, "json", rejected=f"missing_required_column:{required}")
                return

    rounds = malformed = real = empty_rounds = 0
    unknown: set[str] = set()
    out = []
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
            loc_vals = [_DECODERS[kind](lookup.get(f)) for f, (_, kind) in LOCATION_FIELDS.items()]
            extras = dict(round_extra)
            for k, v in loc.items():
                if k not in LOCATION_FIELDS and k not in LOCATION_IGNORED and k != "fixCoordinates" and v is not None:
                    extras[f"locations[N].{k}"] = v
                    unknown.add(f"locations[N].{k}")
            out.append(_loc_record(name, "json", round_vals, index, loc_vals, extras))
    yield _stats(
        name, "json", rounds=rounds, records_malformed=malformed, slots=real, padding=0, real=real,
        empty_rounds=empty_rounds, unknown_columns=sorted(unknown),
    )
    yield from out
