"""Cell values → typed values, with the counting rules of the sample README: cells trimmed, empty → NULL,
``NaN`` (any case) → NaN, non-numeric → NULL, Mongo wrappers unwrapped.

Two forms of the same rules: scalar decoders for one Python value (JSON documents, round timestamps) and
vectorized ones over Arrow arrays of cell text (CSV columns). tests/test_parse.py checks both on the same cells.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys

import pyarrow as pa
import pyarrow.compute as pc

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

# Python 3.11's ISO-8601 reading everywhere: before 3.11, fromisoformat reads only what isoformat writes
# (`…:00.5Z`, `+0200`, `20250602T120000Z` would become NULL on EMR Serverless's Python 3.9 and not locally).
if sys.version_info >= (3, 11):
    _fromisoformat = dt.datetime.fromisoformat
else:  # pragma: no cover - EMR Serverless (spark/requirements-emr.txt ships the backport)
    from backports.datetime_fromisoformat import datetime_fromisoformat as _fromisoformat
_NUMBER_RE2 = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"  # _NUMBER for Arrow (RE2, anchored)


def unwrap(v):
    """Mongo extended JSON wrappers → their payload; anything else unchanged."""
    if isinstance(v, dict) and len(v) == 1:
        key, inner = next(iter(v.items()))
        if key in ("$oid", "$numberDouble", "$numberLong", "$numberInt", "$numberDecimal", "$date"):
            return unwrap(inner) if key == "$date" and isinstance(inner, dict) else inner
    return v


def to_float(v):
    v = unwrap(v)
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
    v = unwrap(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return None if (isinstance(v, float) and math.isnan(v)) else v != 0
    if isinstance(v, str):
        s = v.strip().lower()
        return True if s in _TRUE else False if s in _FALSE else None
    return None


def to_str(v):
    v = unwrap(v)
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
        t = _fromisoformat(s[:-1] + "+00:00" if s[-1] in "Zz" else s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)  # exports are UTC
    delta = t - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


DECODERS = {
    "id": to_str,
    "str": to_str,
    "int": to_int,
    "float": to_float,
    "bool": to_bool,
    "ts": to_epoch_us,
    "jsontext": to_json_text,
}


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


VECTOR_DECODERS = {"id": v_str, "str": v_str, "jsontext": v_str, "int": v_int, "float": v_float, "bool": v_bool}


def fix_epoch_us(start_us, offset_s, date_us):
    """round start + offset seconds, kept to the microsecond; the location's own `date` only as fallback."""
    if start_us is not None and offset_s is not None and math.isfinite(offset_s):
        return start_us + int(round(offset_s * 1_000_000))
    return date_us


def v_fix_us(start_us: pa.Array, offset_s: pa.Array, dates: pa.Array | None) -> pa.Array:
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
