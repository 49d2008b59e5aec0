"""Bronze file → location records as Arrow batches (runs inside Spark's Python workers, or in the driver for a
local partition: silver/local_decode.py).

Every file is parsed with its own header (CSV, silver/csv_records.py) or as a whole document (JSON,
silver/json_records.py), so column sets and orders may differ between files. Values are decoded with the
counting rules of the sample README (silver/decoders.py). The records are those of silver/records.py.
"""

from __future__ import annotations

import os

from fairway_spark.silver.csv_records import csv_records
from fairway_spark.silver.json_records import json_records
from fairway_spark.silver.records import stats_batch


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
        yield stats_batch(name, fmt, rejected="empty_file")
    elif fmt == "json":
        yield from json_records(name, decode_text(data))
    else:
        yield from csv_records(name, decode_text(data))
