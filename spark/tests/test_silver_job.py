"""Silver job on real local Spark + Iceberg (one session for the whole module, see conftest.py)."""

import json
import os
import shutil
from datetime import datetime

import pytest
from conftest import SAMPLE_DIR

from fairway_pipes import MESSAGES_ENV, open_pipes
from fairway_spark.silver_job import parse_args, run

# Twin tests run on these courses; FAIRWAY_TEST_ALL_COURSES=1 runs all five (each run costs ~20–60 s).
TWIN_COURSES = ["americanfalls", "bradshawfarmgc"]
if os.environ.get("FAIRWAY_TEST_ALL_COURSES") == "1":
    TWIN_COURSES = ["americanfalls", "bradshawfarmgc", "erinhills", "indiancreek", "pinehurst4"]

CENTRE = (-88.3433, 43.2483)


def run_argv(spark, tmp_path, argv):
    """One run of the job with ``argv``: (its result, the messages it reported)."""
    messages = tmp_path / f"messages-{len(list(tmp_path.glob('messages-*')))}.jsonl"
    with open_pipes({MESSAGES_ENV: str(messages)}) as pipes:
        result = run(parse_args(argv), spark, pipes)
    return result, [json.loads(line) for line in messages.read_text().splitlines()]


def run_job(spark, tmp_path, bronze, course_id, ingest_date, *extra, namespace="silver"):
    """A single-partition run that must succeed: (the partition's result, the messages)."""
    result, messages = run_argv(
        spark,
        tmp_path,
        [
            "--bronze-path",
            str(bronze),
            "--course-id",
            course_id,
            "--ingest-date",
            ingest_date,
            "--namespace",
            namespace,
            *extra,
        ],
    )
    assert not result["failed"], result["failed"]
    (written,) = result["partitions"].values()
    assert written["partition_key"] == f"course_id={course_id},ingest_date={ingest_date}"
    return written, messages


def rows(spark, table, course_id, ingest_date, namespace="silver"):
    return spark.sql(
        f"SELECT * FROM {namespace}.{table} WHERE course_id = '{course_id}' AND ingest_date = DATE'{ingest_date}'"
    ).collect()


def content(spark, table, course_id, ingest_date, exclude=("run_id",)):
    out = []
    for r in rows(spark, table, course_id, ingest_date):
        d = {k: v for k, v in r.asDict().items() if k not in exclude}
        out.append(json.dumps(d, default=str, sort_keys=True))
    return sorted(out)


def file_entry(manifest, path):
    return next(f for f in manifest["files"] if f["path"] == path)


# ---- the shared sample: both twins of every k in one partition ---------------------------------


def expected_for_twins(manifest, course):
    """Numbers for one partition holding both twins (CSV + JSON) of every k of a course.

    The manifest counts per file. With twins together every source location arrives twice: Silver
    keeps one copy (same rows as one twin alone), quarantine keeps both copies (it is applied
    before dedup), and every other second copy is a removed duplicate.
    """
    exp = {"silver": 0, "ts_missing": 0, "dups": 0, "real": 0, "padding": 0, "q": {}}
    for f in manifest["files"]:
        if f["course"] != course:
            continue
        exp["real"] += f["real_location_rows"]
        exp["padding"] += f["padding_slots"]
        q = f["expected_quarantined_rows"]
        for reason in ("nan", "zero_coordinates", "swapped", "out_of_range"):
            exp["q"][reason] = exp["q"].get(reason, 0) + q[reason]
        if f["format"] == "csv":  # count each twin pair once for what Silver keeps
            exp["silver"] += f["expected_silver_rows"]
            exp["ts_missing"] += f["expected_timestamp_missing"]
            # second copy: every real row that is not quarantined is a duplicate, plus the file's own dups
            exp["dups"] += f["real_location_rows"] - q["total"] + f["expected_duplicates_removed"]
    return exp


@pytest.mark.parametrize("course", TWIN_COURSES)
def test_sample_course_twins_match_the_manifest_exactly(spark, tmp_path, manifest, course):
    bronze = tmp_path / "bronze" / course
    shutil.copytree(SAMPLE_DIR / course, bronze)
    assert len(list(bronze.iterdir())) == 4
    exp = expected_for_twins(manifest, course)

    result, messages = run_job(spark, tmp_path, bronze, course, "2025-06-02", "--course-timezone", "America/Denver")

    assert result["real_rows"] == exp["real"]
    assert result["padding_rows"] == exp["padding"]
    assert result["rows_written"] == exp["silver"]
    assert result["quarantined"] == exp["q"]
    assert result["duplicates_removed"] == exp["dups"]
    assert result["timestamp_missing"] == exp["ts_missing"]
    assert result["records_malformed"] == 0 and result["empty_rounds"] == 4  # one per file
    assert result["reconciled"] is True

    silver = rows(spark, "fact_telemetry_event", course, "2025-06-02")
    assert len(silver) == exp["silver"]
    assert sum(r.is_timestamp_missing for r in silver) == exp["ts_missing"]
    assert not any(r.is_location_padding for r in silver)
    assert all(r.hole_number is not None or r.section_number is not None for r in silver)
    assert all(r.nine_number in (1, 2, 3) for r in silver)
    assert len({(r.round_id, r.fix_timestamp) for r in silver if r.fix_timestamp}) == sum(
        1 for r in silver if r.fix_timestamp
    )
    # sub-second offsets survive (40% of offsets have one decimal)
    assert any(r.fix_timestamp and r.fix_timestamp.microsecond for r in silver)
    assert all(r.geometry is not None and r.geometry_wkt.startswith("POINT") and r.h3_cell_id for r in silver)
    q = rows(spark, "quarantine_telemetry_event", course, "2025-06-02")
    assert len(q) == sum(exp["q"].values())
    health = rows(spark, "fact_device_health", course, "2025-06-02")
    assert len(health) == exp["silver"]

    # nine_number: section bands where hole numbers repeat (sections from the manifest's sections_per_hole)
    names = (course, manifest["courses"][course]["name"])
    spans = spark.sql(
        "SELECT nine_number, min(section_number) lo, max(section_number) hi FROM silver.fact_telemetry_event "
        f"WHERE course_id = '{course}' AND course IN ('{names[0]}', '{names[1]}') GROUP BY nine_number ORDER BY 1"
    ).collect()
    expected_spans = {
        "americanfalls": [(1, 1, 28), (2, 29, 56)],
        "bradshawfarmgc": [(1, 1, 28), (2, 29, 58), (3, 59, 86)],
    }
    if course in expected_spans:
        assert [(x.nine_number, x.lo, x.hi) for x in spans] == expected_spans[course]

    (mat,) = [m for m in messages if m["type"] == "materialization"]
    assert mat["partition_key"] == f"course_id={course},ingest_date=2025-06-02"
    assert mat["data_version"] == result["data_version"] and mat["data_version"].split(":")[0] == result["snapshot_id"]
    assert mat["metadata"]["row_count"] == {"type": "row_count", "value": exp["silver"]}
    assert mat["metadata"]["batch_size"] == {"type": "int", "value": 1}
    (check,) = [m for m in messages if m["type"] == "check"]
    assert (
        check["name"] == "reconciliation" and check["passed"] is True and check["partition_key"] == mat["partition_key"]
    )


# ---- idempotency and partition replacement ------------------------------------------------------


def test_rerun_is_idempotent_and_a_changed_partition_replaces_only_its_rows(spark, tmp_path, manifest):
    course = "erinhills"
    p1 = tmp_path / "p1"
    p1.mkdir()
    for k in (1, 2):
        shutil.copy(SAMPLE_DIR / course / f"{course}.rounds.{k}.csv", p1)
    p2 = tmp_path / "p2"
    p2.mkdir()
    shutil.copy(SAMPLE_DIR / course / f"{course}.rounds.1.json", p2)
    f1, f2 = (file_entry(manifest, f"{course}/{course}.rounds.{k}.csv") for k in (1, 2))

    first, _ = run_job(spark, tmp_path, p1, course, "2025-06-02")
    before = content(spark, "fact_telemetry_event", course, "2025-06-02")
    q_before = content(spark, "quarantine_telemetry_event", course, "2025-06-02")
    second, _ = run_job(spark, tmp_path, p1, course, "2025-06-02")
    assert first["rows_written"] == second["rows_written"] == f1["expected_silver_rows"] + f2["expected_silver_rows"]
    assert content(spark, "fact_telemetry_event", course, "2025-06-02") == before
    assert content(spark, "quarantine_telemetry_event", course, "2025-06-02") == q_before
    assert second["table_rows_total"] == first["table_rows_total"]
    assert second["snapshot_id"] != first["snapshot_id"]
    assert second["commits"]["fact_telemetry_event"]["deleted_records"] == first["rows_written"]

    single = file_entry(manifest, f"{course}/{course}.rounds.1.json")
    other, _ = run_job(spark, tmp_path, p2, course, "2025-06-03")
    assert other["rows_written"] == single["expected_silver_rows"]
    assert other["quarantined"] == {k: single["expected_quarantined_rows"][k] for k in other["quarantined"]}
    assert other["duplicates_removed"] == single["expected_duplicates_removed"]
    assert other["timestamp_missing"] == single["expected_timestamp_missing"]
    p2_rows = content(spark, "fact_telemetry_event", course, "2025-06-03")

    (p1 / f"{course}.rounds.1.csv").unlink()  # the partition changes: one file fewer
    changed, _ = run_job(spark, tmp_path, p1, course, "2025-06-02")
    assert changed["rows_written"] == f2["expected_silver_rows"]
    assert len(rows(spark, "fact_telemetry_event", course, "2025-06-02")) == f2["expected_silver_rows"]
    assert (
        len(rows(spark, "quarantine_telemetry_event", course, "2025-06-02")) == f2["expected_quarantined_rows"]["total"]
    )
    assert content(spark, "fact_telemetry_event", course, "2025-06-03") == p2_rows  # untouched
    total = spark.sql(f"SELECT count(*) n FROM silver.fact_telemetry_event WHERE course_id = '{course}'").first().n
    assert total == f2["expected_silver_rows"] + single["expected_silver_rows"]


# ---- hand-made edge cases -------------------------------------------------------------------------


def write_edge_partition(d):
    """Four small files covering the edge cases; expected numbers are in test_edge_cases."""
    d.mkdir(parents=True)
    lon, lat = CENTRE
    ok = f"{lon},{lat}"
    a_cols = ["_id", "course", "startTime", "endTime", "startHole", "goalName", "captureLogs", "weatherCode"]
    slot_fields = [
        "hole",
        "sectionNumber",
        "startTime",
        "fixCoordinates[0]",
        "fixCoordinates[1]",
        "batteryPercentage",
        "isCache",
        "isProjected",
    ]
    header = a_cols + [f"locations[{n}].{f}" for n in range(3) for f in slot_fields]
    logs = '"[{""m"":""a, b""},{""m"":""line1\nline2""}]"'  # embedded comma + newline, RFC 4180 quoted

    def slot(hole="", sec="", off="", coords=",", batt="", cache="false", proj="false"):
        if not hole and not sec:
            return ",,,,,,,"
        return f"{hole},{sec},{off},{coords},{batt},{cache},{proj}"

    a_rows = [
        # r1: ok, ok with sub-second offset, NaN lon → nan
        f'aa01,erinhills,2025-06-02T12:00:00.000Z,2025-06-02T16:00:00.000Z,1,"Default, weekend",{logs},sunny,'
        + ",".join([slot(1, 1, 0, ok, 90), slot(1, 2, "100.5", ok, 89), slot(2, 4, 200, f"NaN,{lat}", 88)]),
        # r2: zero, swapped, out of range
        "aa02,erinhills,2025-06-02T13:00:00.000Z,,10,Default,,,"
        + ",".join(
            [slot(10, 29, 0, "0,0", 80), slot(10, 30, 50, f"{lat},{lon}", 80), slot(11, 31, 80, f"200,{lat}", 80)]
        ),
        # r3: empty round (all padding)
        "aa03,erinhills,2025-06-02T13:30:00.000Z,,1,Default,,," + ",".join([slot(), slot(), slot()]),
        # r4: missing offset, ok, padding
        "aa04,erinhills,2025-06-02T14:00:00.000Z,,1,Default,,,"
        + ",".join([slot(3, 7, "", ok, 70), slot(3, 8, 60, ok, 70), slot()]),
        # malformed record: too few cells
        "aa99,erinhills,2025-06-02T14:00:00.000Z,,1",
        # r5: duplicate pair without cache → keep the higher battery (slot 1)
        "aa05,erinhills,2025-06-02T15:00:00.000Z,,1,Default,,,"
        + ",".join([slot(4, 10, 30, ok, 50), slot(4, 10, 30, ok, 70), slot(4, 11, 90, ok, 69)]),
    ]
    (d / "a.csv").write_bytes(("\ufeff" + ",".join(header) + "\r\n" + "\r\n".join(a_rows) + "\r\n").encode())

    # b.csv: other column order, fewer columns (no captureLogs, isProjected), LF, no trailing newline
    b_header = [
        "locations[1].startTime",
        "locations[1].hole",
        "locations[1].sectionNumber",
        "locations[0].hole",
        "locations[0].sectionNumber",
        "locations[0].startTime",
        "_id",
        "course",
        "startTime",
        "locations[0].fixCoordinates[0]",
        "locations[0].fixCoordinates[1]",
        "locations[0].batteryPercentage",
        "locations[0].isCache",
        "locations[1].fixCoordinates[0]",
        "locations[1].fixCoordinates[1]",
        "locations[1].batteryPercentage",
        "locations[1].isCache",
        "locations[0].pace",
    ]
    b_rows = [
        # r6: duplicate pair with cache → keep the cached copy (slot 1) despite its lower battery
        f"10,12,35,12,35,10,bb01,erinhills,2025-06-02T16:00:00.000Z,{ok},80,false,{ok},60,true,1.5",
        # r7: trimmed cells, non-numeric pace → NULL, slot 1 padding
        f",,, 6 , 16 , 20.25 ,bb02,erinhills,2025-06-02T16:30:00.000Z,{ok}, 75 ,false,,,,,abc",
    ]
    (d / "b.csv").write_text(",".join(b_header) + "\n" + "\n".join(b_rows))

    wrapped = [
        {
            "_id": {"$oid": "cc01"},
            "course": "erinhills",
            "startTime": {"$date": "2025-06-02T17:00:00.000Z"},
            "captureLogs": [{"m": "x"}],
            "locations": [
                {
                    "hole": {"$numberInt": "7"},
                    "sectionNumber": 19,
                    "startTime": {"$numberLong": "120"},
                    "fixCoordinates": [lon, lat],
                    "batteryPercentage": 60,
                    "isCache": False,
                },
                {"hole": 7, "sectionNumber": 20, "startTime": 200, "fixCoordinates": [{"$numberDouble": "NaN"}, lat]},
                {"hole": 7, "sectionNumber": 21, "startTime": 300, "fixCoordinates": [lon, lat], "signalStrength": 4},
            ],
        },
        {
            "_id": {"$oid": "cc02"},
            "course": "erinhills",
            "startTime": {"$date": {"$numberLong": "1748887200000"}},
            "locations": [{"hole": 8, "sectionNumber": 23, "startTime": 15, "fixCoordinates": [lon, lat]}],
        },
        {
            "_id": {"$oid": "cc03"},
            "course": "erinhills",
            "startTime": {"$date": "2025-06-02T18:00:00.000Z"},
            "locations": [],
        },
    ]
    (d / "c.json").write_text("[\n" + ",\n".join(json.dumps(r) for r in wrapped) + "\n]\n")
    plain = [
        {
            "_id": "dd01",
            "course": "Erin Hills",
            "startTime": "2025-06-02T19:00:00.000Z",
            "locations": [
                {"hole": 9, "sectionNumber": 26, "startTime": 10, "fixCoordinates": [lon, lat], "paceGap": None},
                {"hole": 9, "sectionNumber": 27, "startTime": None, "fixCoordinates": [lon, lat], "paceGap": 12.3456},
            ],
        }
    ]
    (d / "d.json").write_text(json.dumps(plain, indent=2))  # pretty-printed


def test_edge_cases(spark, tmp_path):
    bronze = tmp_path / "edge"
    write_edge_partition(bronze)
    r, messages = run_job(
        spark,
        tmp_path,
        bronze,
        "edgecourse",
        "2025-06-02",
        f"--course-centre={CENTRE[0]},{CENTRE[1]}",
        "--course-timezone",
        "America/Chicago",
    )

    assert r["rounds"] == 11 and r["records_malformed"] == 1 and r["empty_rounds"] == 2
    assert r["rows_read"] == 25 and r["padding_rows"] == 5 and r["real_rows"] == 20
    assert r["quarantined"] == {"nan": 2, "zero_coordinates": 1, "swapped": 1, "out_of_range": 1}
    assert r["duplicates_removed"] == 2 and r["timestamp_missing"] == 2 and r["rows_written"] == 13
    assert r["unknown_columns"] == ["locations[N].signalStrength", "weatherCode"]
    assert any(m["type"] == "log" and m["level"] == "warn" and "unknown" in m["message"] for m in messages)

    got = {(x.round_id, x.location_index): x for x in rows(spark, "fact_telemetry_event", "edgecourse", "2025-06-02")}
    assert len(got) == 13
    assert got[("aa01", 1)].fix_timestamp == datetime(2025, 6, 2, 12, 1, 40, 500000)  # sub-second kept (UTC)
    assert got[("aa01", 0)].goal_name == "Default, weekend"
    assert json.loads(got[("aa01", 0)].extra_fields) == {"weatherCode": "sunny"}
    assert got[("aa01", 0)].event_weekday == 1  # 2025-06-02 is a Monday (ISO 1 = Monday)
    assert got[("aa01", 0)].local_hour == 7 and str(got[("aa01", 0)].local_date) == "2025-06-02"  # CDT = UTC-5
    assert got[("aa01", 0)].geometry_wkt == f"POINT ({CENTRE[0]} {CENTRE[1]})"
    assert got[("aa01", 0)].round_duration_minutes == 240.0
    # the UI's track sketch: the round with most timed fixes (ties: lowest round id), its points in time order
    timed = [x for x in got.values() if x.fix_timestamp is not None]
    longest = min({x.round_id for x in timed}, key=lambda rid: (-sum(x.round_id == rid for x in timed), rid))
    track = sorted(
        (x.fix_timestamp, [round(x.longitude, 6), round(x.latitude, 6)]) for x in timed if x.round_id == longest
    )
    assert r["track_preview"] == [p for _, p in track] and len(track) >= 2
    assert ("aa05", 0) not in got and got[("aa05", 1)].battery_percentage == 70  # no cache: highest battery
    assert ("bb01", 0) not in got and got[("bb01", 1)].is_cache is True  # cache preferred over battery
    assert got[("bb01", 1)].nine_number == 2 and got[("aa01", 0)].nine_number == 1
    b7 = got[("bb02", 0)]
    assert (b7.hole_number, b7.section_number, b7.fix_offset_seconds, b7.battery_percentage, b7.pace) == (
        6,
        16,
        20.25,
        75.0,
        None,
    )
    assert got[("aa04", 0)].fix_timestamp is None and got[("aa04", 0)].is_timestamp_missing is True
    assert got[("dd01", 1)].is_timestamp_missing is True and got[("dd01", 1)].pace_gap == 12.346
    assert got[("dd01", 0)].course == "Erin Hills" and got[("dd01", 0)].source_format == "json"
    assert got[("cc01", 0)].hole_number == 7 and got[("cc01", 0)].fix_timestamp == datetime(2025, 6, 2, 17, 2, 0)
    assert json.loads(got[("cc01", 2)].extra_fields) == {"locations[N].signalStrength": 4}
    assert got[("cc02", 0)].round_start_time == datetime(2025, 6, 2, 18, 0, 0)  # $date with $numberLong millis
    assert got[("cc02", 0)].pace_gap is None  # field absent from every element: NULL, no crash
    assert all(x.ingest_date.isoformat() == "2025-06-02" and x.course_id == "edgecourse" for x in got.values())

    q = {
        (x.round_id, x.location_index): x.quarantine_reason
        for x in rows(spark, "quarantine_telemetry_event", "edgecourse", "2025-06-02")
    }
    assert q == {
        ("aa01", 2): "nan",
        ("cc01", 1): "nan",
        ("aa02", 0): "zero_coordinates",
        ("aa02", 1): "swapped",
        ("aa02", 2): "out_of_range",
    }

    health = {(x.round_id, x.location_index): x for x in rows(spark, "fact_device_health", "edgecourse", "2025-06-02")}
    assert set(health) == set(got)
    assert health[("aa01", 0)].capture_logs == '[{"m":"a, b"},{"m":"line1\nline2"}]'  # quoted comma + newline kept
    assert json.loads(health[("cc01", 0)].capture_logs) == [{"m": "x"}]


def test_point_wkt_reads_back_exactly_and_never_uses_an_exponent(spark):
    from pyspark.sql import functions as F

    from fairway_spark.silver.transform import point_wkt

    points = [(-88.3433, 43.2483), (0.1 + 0.2, -88.0), (0.0005, -1e-07), (-0.0001234567890123456, 0.0)]
    texts = [
        r.wkt
        for r in spark.createDataFrame(points, "lon double, lat double")
        .select(point_wkt(F.col("lon"), F.col("lat")).alias("wkt"))
        .collect()
    ]
    assert texts == [
        "POINT (-88.3433 43.2483)",
        "POINT (0.30000000000000004 -88.0)",  # JTS (Sedona's ST_AsText) would print 0.3, another double
        "POINT (0.0005 -0.0000001)",  # Java's own text would be 5.0E-4 and -1.0E-7
        "POINT (-0.0001234567890123456 0.0)",
    ]
    assert [tuple(float(v) for v in t[len("POINT (") : -1].split()) for t in texts] == points


def test_unreadable_input_fails_the_partition_with_a_clean_error(spark, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.json").write_text('[{"_id": "x", "course": ')
    result, messages = run_argv(
        spark, tmp_path, ["--bronze-path", str(bad), "--course-id", "c", "--ingest-date", "2025-06-02"]
    )
    key = "course_id=c,ingest_date=2025-06-02"
    assert result["partitions"] == {} and result["failed"][key]["code"] == "unreadable_input"
    (error,) = [m for m in messages if m["type"] == "error"]
    assert error["partition_key"] == key and error["code"] == "unreadable_input" and "broken.json" in error["message"]


def test_reconciliation_failure_stops_before_writing(spark, tmp_path, monkeypatch):
    from fairway_spark.silver import transform

    real_summarize = transform.summarize_stats

    def one_row_lost(rows):  # pretend the parser saw a real row that never reached Spark
        s = real_summarize(rows)
        s["totals"]["real"] = s["totals"].get("real", 0) + 1
        return s

    monkeypatch.setattr(transform, "summarize_stats", one_row_lost)
    bronze = tmp_path / "edge"
    write_edge_partition(bronze)
    result, messages = run_argv(
        spark,
        tmp_path,
        [
            "--bronze-path",
            str(bronze),
            "--course-id",
            "reconcile",
            "--ingest-date",
            "2025-06-02",
            f"--course-centre={CENTRE[0]},{CENTRE[1]}",
        ],
    )
    key = "course_id=reconcile,ingest_date=2025-06-02"
    assert result["partitions"] == {} and result["failed"][key]["code"] == "reconciliation_failed"
    (check,) = [m for m in messages if m["type"] == "check"]
    assert check["passed"] is False and check["partition_key"] == key
    (error,) = [m for m in messages if m["type"] == "error"]
    assert error["code"] == "reconciliation_failed" and error["partition_key"] == key
    assert not any(m["type"] == "materialization" for m in messages)
    from pyspark.sql.utils import AnalysisException

    try:  # the table may not exist at all when this test runs alone
        assert rows(spark, "fact_telemetry_event", "reconcile", "2025-06-02") == []
    except AnalysisException:
        pass


def write_manifest(path, partitions):
    """A --manifest file; each partition: (bronze dir, course id, ingest date[, centre[, time zone]])."""
    entries = []
    for bronze, course, day, *rest in partitions:
        centre, zone = (rest + [None, None])[:2]
        entries.append(
            {
                "partition_key": f"course_id={course},ingest_date={day}",
                "course_id": course,
                "ingest_date": day,
                "bronze_path": str(bronze),
                "course_centre": centre,
                "course_timezone": zone,
            }
        )
    path.write_text(json.dumps({"partitions": entries}))
    return str(path)


def test_writes_one_file_per_table_partition_and_evolves_tables_of_older_versions(spark, tmp_path, monkeypatch):
    from fairway_spark.silver import tables

    course = "erinhills"
    bronze, bronze2 = tmp_path / "files", tmp_path / "files2"
    for k, d in enumerate((bronze, bronze2), start=1):  # other rounds each day (a round delivered twice is kept once)
        d.mkdir()
        shutil.copy(SAMPLE_DIR / course / f"{course}.rounds.{k}.csv", d)
    ns = "legacy"
    fact, health = (tables.qualified(spark, ns, t) for t in ("fact_telemetry_event", "fact_device_health"))
    with monkeypatch.context() as m:  # runs of an older job version: daily device-health partitions, no ingest_date
        m.setitem(tables.TABLES, "fact_telemetry_event", (tables.TELEMETRY_COLUMNS, ("course_id", "event_date")))
        m.setitem(tables.TABLES, "fact_device_health", (tables.DEVICE_HEALTH_COLUMNS, ("course_id", "event_date")))
        m.setattr(tables, "PLAIN_ENCODED", ())
        first, _ = run_job(spark, tmp_path, bronze, course, "2025-06-02", namespace=ns)
        later, _ = run_job(spark, tmp_path, bronze2, course, "2025-06-03", namespace=ns)
    assert tables.partitioning(spark, health) == tables.partitioning(spark, fact) == ["course_id", "event_date"]

    # one batch of both over the old files: the overwrite (course_id = … AND ingest_date IN (…)) must delete
    # old-spec files by their column bounds (one ingest date per file), then the tables have the new specs
    manifest = write_manifest(tmp_path / "m.json", [(bronze, course, "2025-06-02"), (bronze2, course, "2025-06-03")])
    second, _ = run_argv(spark, tmp_path, ["--manifest", manifest, "--namespace", ns])
    assert not second["failed"] and len(second["partitions"]) == 2
    assert tables.partitioning(spark, fact) == ["course_id", "event_date", "ingest_date"]
    assert tables.partitioning(spark, health) == ["course_id", "months(event_date)", "ingest_date"]
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {health}").collect()}
    assert props["write.parquet.dict-encoding-enabled.column.fix_timestamp"] == "false"
    # the old-spec files were replaced, not kept next to the new ones
    for day, result in (("2025-06-02", first), ("2025-06-03", later)):
        assert spark.table(health).where(f"ingest_date = DATE'{day}'").count() == result["rows_written"]
        assert spark.table(fact).where(f"ingest_date = DATE'{day}'").count() == result["rows_written"]
    both = first["rows_written"] + later["rows_written"]
    assert second["commits"]["fact_device_health"]["deleted_records"] == both
    assert second["commits"]["fact_telemetry_event"]["deleted_records"] == both
    for table in (fact, health):
        live = spark.sql(f"SELECT spec_id, count(*) AS n FROM {table}.files GROUP BY spec_id").collect()
        assert len(live) == 1 and live[0].spec_id != 0  # every live file has the new spec
    n_health = spark.sql(f"SELECT count(*) FROM {health}.files").first()[0]
    months = (
        spark.table(health)
        .selectExpr(
            "count(DISTINCT date_trunc('month', event_date), ingest_date)"
            " + count(DISTINCT CASE WHEN event_date IS NULL THEN ingest_date END)"
        )
        .first()[0]
    )
    assert n_health <= months * int(spark.conf.get("spark.sql.shuffle.partitions"))

    # clustered once before the writes: exactly one data file per (course_id, event_date, ingest_date) of the fact table
    files = spark.sql(f"SELECT count(*) FROM {fact}.files").first()[0]
    assert files == spark.table(fact).select("event_date", "ingest_date").distinct().count()
