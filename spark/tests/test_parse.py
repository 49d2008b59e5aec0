"""spark/silver/parse.py: value decoding and per-file counting, without Spark."""

import json
import math

from silver.parse import RECORD_FIELDS, parse_file, to_bool, to_epoch_us, to_float, to_int

IDX = {n: i for i, n in enumerate(RECORD_FIELDS)}


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
    stats, *locs = list(parse_file("/p/a.csv", data))
    s = json.loads(stats[IDX["file_stats"]])
    assert s == {"rounds": 2, "records_malformed": 1, "slots": 4, "padding": 3, "real": 1, "empty_rounds": 1,
                 "unknown_columns": []}
    (loc,) = locs
    assert loc[IDX["round_id"]] == "r1" and loc[IDX["location_index"]] == 0
    assert loc[IDX["fix_us"]] - loc[IDX["round_start_us"]] == 100_500_000


def test_json_empty_rounds_absent_fields_and_unknown_columns():
    data = json.dumps([
        {"_id": {"$oid": "a1"}, "course": "x", "startTime": {"$date": "2025-06-02T12:00:00Z"},
         "locations": [{"hole": 1, "startTime": 5, "fixCoordinates": [1.5, 2.5], "signal": 3}]},
        {"_id": "a2", "course": "x", "locations": []},
    ]).encode()
    stats, loc = list(parse_file("b.json", data))
    s = json.loads(stats[IDX["file_stats"]])
    assert s["rounds"] == 2 and s["empty_rounds"] == 1 and s["real"] == 1
    assert s["unknown_columns"] == ["locations[N].signal"]
    assert loc[IDX["longitude"]] == 1.5 and loc[IDX["latitude"]] == 2.5 and loc[IDX["pace_gap"]] is None
    assert json.loads(loc[IDX["extra_fields"]]) == {"locations[N].signal": 3}


def test_rejected_and_unreadable_files_are_reported_not_raised():
    assert json.loads(next(parse_file("e.csv", b""))[IDX["file_stats"]]) == {"rejected": "empty_file"}
    assert json.loads(next(parse_file("h.csv", b"_id,course\n"))[IDX["file_stats"]])["rejected"] == "no_records"
    assert json.loads(next(parse_file("n.csv", b"id,course\n1,x\n"))[IDX["file_stats"]])["rejected"] == "missing_required_column:_id"
    assert "error" in json.loads(next(parse_file("bad.json", b"[{"))[IDX["file_stats"]])
