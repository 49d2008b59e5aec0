"""fairway_spark.silver.parse (and its decoders, CSV and JSON modules): value decoding and per-file counting, without Spark."""

import json
import math

import pyarrow as pa

from fairway_spark.silver.decoders import to_bool, to_epoch_us, to_float, to_int, v_bool, v_float, v_int, v_str
from fairway_spark.silver.parse import parse_file


def records(path: str, data: bytes) -> tuple[dict, list[dict]]:
    """(file stats, location records) of one file, as plain Python values."""
    rows = [r for batch in parse_file(path, data) for r in batch.to_pylist()]
    stats = [r for r in rows if r["record_kind"] == "stats"]
    assert len(stats) == 1 and rows[-1] is stats[0]  # one stats record, after the locations
    return json.loads(stats[0]["file_stats"]), [r for r in rows if r["record_kind"] == "loc"]


def test_numbers_follow_the_counting_rules():
    assert to_float(" 12.5 ") == 12.5
    assert to_float("") is None and to_float("   ") is None and to_float(None) is None
    assert math.isnan(to_float("NaN")) and math.isnan(to_float("nan")) and math.isnan(to_float(" NAN "))
    assert to_float("abc") is None and to_float("1_000") is None and to_float("Infinity") is None
    assert math.isnan(to_float({"$numberDouble": "NaN"}))
    assert to_float({"$numberLong": "120"}) == 120.0 and to_float({"$numberInt": "3"}) == 3.0
    assert to_float(True) is None
    assert to_int("7.9") == 7 and to_int("NaN") is None
    assert to_bool(" TRUE ") is True and to_bool("false") is False and to_bool("maybe") is None


def test_timestamps_iso_and_mongo_forms():
    us = 1748865600 * 1_000_000  # 2025-06-02T12:00:00Z
    assert to_epoch_us("2025-06-02T12:00:00.000Z") == us
    assert to_epoch_us({"$date": "2025-06-02T12:00:00Z"}) == us
    assert to_epoch_us({"$date": {"$numberLong": "1748865600000"}}) == us
    assert to_epoch_us({"$date": 1748865600000}) == us
    assert to_epoch_us("2025-06-02T14:00:00+02:00") == us
    assert to_epoch_us("300") is None and to_epoch_us("") is None


def test_csv_counts_padding_malformed_and_keeps_sub_seconds():
    data = (
        "\ufeff_id,course,startTime,locations[0].hole,locations[0].sectionNumber,locations[0].startTime,"
        "locations[1].hole,locations[1].sectionNumber,locations[1].startTime\r\n"
        "r1,x,2025-06-02T12:00:00.000Z,1,2,100.5,,,\r\n"
        "r2,x,2025-06-02T12:00:00.000Z,1,2\r\n"  # malformed: 5 cells, header has 9
        '"r3",x,2025-06-02T12:00:00.000Z,,,,,,\r\n'
    ).encode()
    s, locs = records("/p/a.csv", data)
    assert s == {
        "rounds": 2,
        "records_malformed": 1,
        "slots": 4,
        "padding": 3,
        "real": 1,
        "empty_rounds": 1,
        "unknown_columns": [],
    }
    (loc,) = locs
    assert loc["round_id"] == "r1" and loc["location_index"] == 0
    assert loc["fix_us"] - loc["round_start_us"] == 100_500_000


def test_json_empty_rounds_absent_fields_and_unknown_columns():
    data = json.dumps(
        [
            {
                "_id": {"$oid": "a1"},
                "course": "x",
                "startTime": {"$date": "2025-06-02T12:00:00Z"},
                "locations": [{"hole": 1, "startTime": 5, "fixCoordinates": [1.5, 2.5], "signal": 3}],
            },
            {"_id": "a2", "course": "x", "locations": []},
        ]
    ).encode()
    s, (loc,) = records("b.json", data)
    assert s["rounds"] == 2 and s["empty_rounds"] == 1 and s["real"] == 1
    assert s["unknown_columns"] == ["locations[N].signal"]
    assert loc["longitude"] == 1.5 and loc["latitude"] == 2.5 and loc["pace_gap"] is None
    assert json.loads(loc["extra_fields"]) == {"locations[N].signal": 3}


def test_rejected_and_unreadable_files_are_reported_not_raised():
    assert records("e.csv", b"") == ({"rejected": "empty_file"}, [])
    assert records("h.csv", b"_id,course\n")[0]["rejected"] == "no_records"
    assert records("m.csv", b"_id,course\n1\n")[0] == {"rejected": "no_records", "records_malformed": 1}
    assert records("n.csv", b"id,course\n1,x\n")[0]["rejected"] == "missing_required_column:_id"
    assert "error" in records("bad.json", b"[{")[0]


CELLS = [
    " 12.5 ",
    "",
    "   ",
    "NaN",
    " nan ",
    "abc",
    "1_000",
    "Infinity",
    "+1",
    "1.",
    ".5",
    "-2.5e3",
    "7.9",
    "-7.9",
    "3000000000",
    " TRUE ",
    "false",
    "Yes",
    "n",
    "0",
    "1",
    "maybe",
    "t",
]


def _same(a, b) -> bool:
    return (
        (a is None and b is None)
        or (a == b)
        or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    )


def test_vectorized_decoders_follow_the_scalar_rules():
    cells = pa.array(CELLS)
    for scalar, vector in ((to_float, v_float), (to_int, v_int), (to_bool, v_bool)):
        got = vector(cells).to_pylist()
        want = [scalar(c) for c in CELLS]
        assert all(_same(w, g) for w, g in zip(want, got, strict=True)), (vector.__name__, want, got)
    assert v_str(cells).to_pylist() == [c.strip() or None for c in CELLS]


def test_csv_records_keep_file_order_across_blocks(monkeypatch):
    from fairway_spark.silver import csv_records

    monkeypatch.setattr(csv_records, "CSV_BLOCK_BYTES", 64)  # many blocks of a few records
    head = "_id,course,startTime,locations[0].hole,locations[0].startTime,locations[1].hole,locations[1].startTime\n"
    body = "".join(f"r{i},x,2025-06-02T12:00:00Z,{i % 3 or ''},{i},{i % 2 or ''},{i + 0.5}\n" for i in range(40))
    s, locs = records("o.csv", (head + body).encode())
    assert [(r["round_id"], r["location_index"]) for r in locs] == [
        (f"r{i}", n) for i in range(40) for n, hole in enumerate((i % 3, i % 2)) if hole
    ]
    assert s["rounds"] == 40 and s["real"] == len(locs) and s["padding"] == 80 - len(locs)
    assert s["empty_rounds"] == sum(1 for i in range(40) if not i % 3 and not i % 2)
