"""The records the Bronze parsers yield: field tables, the Arrow schema and the batch builders.

``parse_file`` (silver/parse.py) yields record batches of ``RECORD_SCHEMA``: ``loc`` records, one per real
location (padding slots are only counted), in file order, and one ``stats`` record for the file (last: its
counts cover the whole file). silver/transform.py derives the Spark schema from ``TAGGED_SCHEMA``.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

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

ARROW_KINDS = {
    "id": pa.string(),
    "str": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "ts": pa.int64(),
    "jsontext": pa.string(),
}
# Location fields that become record fields: (source field, record field, kind).
LOCATION_OUTPUT = [(f, name, kind) for f, (name, kind) in LOCATION_FIELDS.items() if name != "fix_date_us"]
# The records parse_file yields.
RECORD_SCHEMA = pa.schema(
    [
        ("record_kind", pa.string()),
        ("source_file", pa.string()),
        ("source_format", pa.string()),
        ("file_stats", pa.string()),
    ]
    + [(name, ARROW_KINDS[kind]) for name, kind in ROUND_FIELDS.values()]
    + [("location_index", pa.int32())]
    + [(name, ARROW_KINDS[kind]) for _, name, kind in LOCATION_OUTPUT]
    + [("fix_us", pa.int64()), ("extra_fields", pa.string())]
)
BATCH_ROWS = 65_536
# The records of a run of several Bronze partitions: each carries the number of its partition in the run.
TAGGED_SCHEMA = RECORD_SCHEMA.append(pa.field("part_idx", pa.int32()))


def tagged(batch: pa.RecordBatch, part_idx: int) -> pa.RecordBatch:
    """A batch of ``parse_file`` as a batch of TAGGED_SCHEMA: with the number of its Bronze partition."""
    column = pa.array(np.full(batch.num_rows, part_idx, dtype=np.int32))
    return pa.RecordBatch.from_arrays([*batch.columns, column], schema=TAGGED_SCHEMA)


def stats_batch(name: str, fmt: str, **counts) -> pa.RecordBatch:
    """The one ``stats`` record of a file: its counts (or why it was rejected) as JSON in ``file_stats``."""
    values = {
        "record_kind": ["stats"],
        "source_file": [name],
        "source_format": [fmt],
        "file_stats": [json.dumps(counts, sort_keys=True)],
    }
    return pa.RecordBatch.from_arrays(
        [pa.array(values.get(f.name, [None]), f.type) for f in RECORD_SCHEMA], schema=RECORD_SCHEMA
    )
