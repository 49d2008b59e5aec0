"""A CSV export → location records, column by column with Arrow.

Every file is parsed with its own header, so column sets and orders may differ between files. The cells are
decoded with the vectorized decoders (silver/decoders.py), a block of records at a time while Arrow's reader
parses the next blocks on another thread: a 100 MB export takes seconds, where a Python loop over its ~20
million cells took ~25 CPU-seconds. Only round timestamps are decoded in Python.
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fairway_spark.silver.decoders import VECTOR_DECODERS, to_epoch_us, v_fix_us
from fairway_spark.silver.records import (
    ARROW_KINDS,
    BATCH_ROWS,
    LOCATION_FIELDS,
    LOCATION_IGNORED,
    LOCATION_OUTPUT,
    RECORD_SCHEMA,
    ROUND_ALIASES,
    ROUND_FIELDS,
    stats_batch,
)

csv.field_size_limit(1 << 30)

_SLOT = re.compile(r"locations\[(\d+)\]\.(.+)")
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
        self.unknown_round = [
            h for h in header if h not in slot_cols and h not in ROUND_FIELDS and h not in ROUND_ALIASES
        ]
        self.unknown_loc = sorted(
            {f for n in self.slot_ids for f in slots[n] if f not in LOCATION_FIELDS and f not in LOCATION_IGNORED}
        )
        orphan = sorted(h for h in slot_cols if int(_SLOT.fullmatch(h).group(1)) not in set(self.slot_ids))
        self.unknown = self.unknown_round + [f"locations[N].{f}" for f in self.unknown_loc] + orphan


def csv_records(name: str, text: str):
    """Yields the record batches of one CSV file (named ``name``): its location records, then its stats record."""
    reader_input = io.StringIO(text, newline="")
    header = next(csv.reader(reader_input), None)
    if not header:
        yield stats_batch(name, "csv", rejected="no_records")
        return
    header = [h.strip() for h in header]
    for required in ("_id", "course"):
        if required not in header:
            yield stats_batch(name, "csv", rejected=f"missing_required_column:{required}")
            return
    layout = _CsvLayout(header)
    counts = dict.fromkeys(("rounds", "records_malformed", "slots", "padding", "real", "empty_rounds"), 0)

    def on_malformed():
        counts["records_malformed"] += 1

    body = text[reader_input.tell() :].encode("utf-8")
    for block in _csv_blocks(body, layout.width, on_malformed):
        if block.num_rows:
            yield from _csv_block_records(name, layout, block, counts)
    if counts["rounds"] == 0:
        yield stats_batch(name, "csv", rejected="no_records", records_malformed=counts["records_malformed"])
    else:  # after the records: the counts cover the whole file
        yield stats_batch(name, "csv", **counts, unknown_columns=layout.unknown)


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
            round_cols[out] = pa.nulls(rounds, ARROW_KINDS[kind])
        elif kind == "ts":
            round_cols[out] = pa.array([to_epoch_us(v) for v in cells[i].to_pylist()], pa.int64())
        else:
            round_cols[out] = VECTOR_DECODERS[kind](cells[i])
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
    for f, out, kind in LOCATION_OUTPUT:
        text_cells = field_cells(f)
        columns[out] = pa.nulls(n_real, ARROW_KINDS[kind]) if text_cells is None else VECTOR_DECODERS[kind](text_cells)
    columns["fix_us"] = v_fix_us(columns["round_start_us"], columns["fix_offset_seconds"], field_cells("date"))
    columns["extra_fields"] = _csv_extras(
        round_extra, record_of, [(f"locations[N].{f}", field_cells(f)) for f in layout.unknown_loc]
    )
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


def _batches(columns: dict[str, pa.Array], n: int):
    """Record batches of RECORD_SCHEMA from whole columns (absent ones NULL), BATCH_ROWS at a time."""
    arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in RECORD_SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)
    yield from table.to_batches(max_chunksize=BATCH_ROWS)
