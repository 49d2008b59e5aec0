"""Many Bronze partitions in one run (``fairway_spark.silver_job --manifest``), against each partition run alone."""

import json
import shutil

from conftest import SAMPLE_DIR
from test_silver_job import CENTRE, file_entry, rows, run_argv, run_job, write_edge_partition, write_manifest

TABLES = ("fact_telemetry_event", "fact_device_health", "quarantine_telemetry_event")
DAY = "2025-06-02"
# facts of a run, not of a partition: they differ between a batch and a run alone
SHARED = {
    "run_id",
    "batch_size",
    "spark_master",
    "spark_application_id",
    "commits",
    "snapshot_id",
    "table_rows_total",
    "duration_ms",
    "data_version",
}


def key(course, day):
    return f"course_id={course},ingest_date={day}"


def content(spark, namespace, table, course, day):
    out = []
    for r in rows(spark, table, course, day, namespace=namespace):
        d = {k: v for k, v in r.asDict().items() if k != "run_id"}
        out.append(json.dumps(d, default=str, sort_keys=True))
    return sorted(out)


def bronze_dir(tmp_path, name, sample_files):
    d = tmp_path / name
    d.mkdir()
    for f in sample_files:
        shutil.copy(SAMPLE_DIR / f, d)
    return d


def per_partition(result):
    return {k: {f: v for f, v in r.items() if f not in SHARED} for k, r in result["partitions"].items()}


def by_type(messages, kind):
    return [m for m in messages if m["type"] == kind]


def test_a_batch_gives_every_partition_exactly_the_rows_and_counts_of_running_it_alone(spark, tmp_path):
    edge = tmp_path / "edge"
    write_edge_partition(edge)
    eh, af, bf = "erinhills", "americanfalls", "bradshawfarmgc"
    # (bronze dir, course, ingest date, centre, time zone, read by tasks (file://) in the batch)
    partitions = [
        (
            bronze_dir(tmp_path, "eh1", [f"{eh}/{eh}.rounds.1.csv", f"{eh}/{eh}.rounds.1.json"]),
            eh,
            DAY,
            [-88.3433, 43.2483],
            "America/Chicago",
            False,
        ),
        # other rounds of the same course a day later: the fact table gets (erinhills, event_date) partitions with
        # two ingest dates (a round in both would be written once: test_silver_redelivery.py)
        (bronze_dir(tmp_path, "eh2", [f"{eh}/{eh}.rounds.2.csv"]), eh, "2025-06-03", None, None, True),
        (
            bronze_dir(tmp_path, "af1", [f"{af}/{af}.rounds.1.csv", f"{af}/{af}.rounds.1.json"]),
            af,
            DAY,
            None,
            "America/Denver",
            True,
        ),
        (
            bronze_dir(tmp_path, "bf1", [f"{bf}/{bf}.rounds.1.csv"]),
            bf,
            DAY,
            [-84.4585, 34.1868],
            "America/New_York",
            False,
        ),
        (edge, "edgecourse", DAY, list(CENTRE), "Asia/Kolkata", False),
    ]
    alone = {}
    for bronze, course, day, centre, zone, _ in partitions:
        extra = ([f"--course-centre={centre[0]},{centre[1]}"] if centre else []) + (
            ["--course-timezone", zone] if zone else []
        )
        alone[key(course, day)], _ = run_job(spark, tmp_path, bronze, course, day, *extra, namespace="alone")

    manifest = write_manifest(
        tmp_path / "batch.json",
        [
            (f"file://{bronze}" if remote else bronze, course, day, centre, zone)
            for bronze, course, day, centre, zone, remote in partitions
        ],
    )
    result, messages = run_argv(spark, tmp_path, ["--manifest", manifest, "--namespace", "batch"])

    assert result["failed"] == {} and result["batch_size"] == 5
    assert per_partition(result) == {k: {f: v for f, v in r.items() if f not in SHARED} for k, r in alone.items()}
    for _, course, day, *_ in partitions:
        for table in TABLES:
            assert content(spark, "batch", table, course, day) == content(spark, "alone", table, course, day), (
                course,
                table,
            )
    # the bands and time zones really differ between the partitions
    assert len({tuple(r["nine_band_starts"]) for r in alone.values()}) > 1
    assert alone[key(eh, "2025-06-03")]["duplicates_removed"] < alone[key(eh, DAY)]["duplicates_removed"]

    # one commit per table for the whole batch
    for table in TABLES:
        n = spark.sql(
            f"SELECT count(*) FROM batch.{table}.snapshots WHERE summary['fairway.run_id'] = '{result['run_id']}'"
        ).first()[0]
        assert n == 1, table
    fact = "batch.fact_telemetry_event"
    mixed = spark.sql(
        f"SELECT course_id, event_date FROM {fact} GROUP BY 1, 2 HAVING count(DISTINCT ingest_date) > 1"
    ).count()
    assert mixed > 0  # event dates shared by two ingest dates, in separate files:
    files = spark.sql(f"SELECT count(*) FROM {fact}.files").first()[0]
    assert files == spark.table(fact).select("course_id", "event_date", "ingest_date").distinct().count()

    # per partition: a passed check and a materialization with its key; distinct data versions of one snapshot
    assert by_type(messages, "error") == []
    checks, mats = by_type(messages, "check"), by_type(messages, "materialization")
    assert sorted(m["partition_key"] for m in checks) == sorted(m["partition_key"] for m in mats) == sorted(alone)
    assert all(c["passed"] for c in checks)
    versions = [m["data_version"] for m in mats]
    assert len(set(versions)) == 5 and {v.split(":")[0] for v in versions} == {result["snapshot_id"]}
    for m in mats:
        md, own = m["metadata"], alone[m["partition_key"]]
        assert md["batch_size"]["value"] == 5 and md["row_count"]["value"] == own["rows_written"]
        assert (
            md["track_preview"]["value"] == own["track_preview"] and md["snapshot_id"]["value"] == result["snapshot_id"]
        )
    # the same input gives the same content hash, in a batch or alone
    for k, r in result["partitions"].items():
        assert r["data_version"].split(":")[1] == alone[k]["data_version"].split(":")[1]


def test_a_failed_partition_is_reported_and_keeps_its_old_rows_while_the_others_are_written(
    spark, tmp_path, monkeypatch
):
    from fairway_spark.silver import transform

    ns = "failing"
    edge, edge2 = tmp_path / "edge", tmp_path / "edge2"
    write_edge_partition(edge)
    write_edge_partition(edge2)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "broken.json").write_text('[{"_id": "x", "course": ')
    empty = tmp_path / "empty"
    empty.mkdir()
    for course in ("broken", "empty", "recon"):  # rows from earlier runs, which a failed partition must keep
        run_job(spark, tmp_path, edge, course, DAY, f"--course-centre={CENTRE[0]},{CENTRE[1]}", namespace=ns)
    before = {c: content(spark, ns, t, c, DAY) for c in ("broken", "empty", "recon") for t in TABLES}

    real_stats = transform.stats_by_partition

    def recon_loses_a_row(stats):  # part_idx 4 ("recon"): the parser saw a real row that never reached Spark
        out = real_stats(stats)
        out[4]["totals"]["real"] += 1
        return out

    monkeypatch.setattr(transform, "stats_by_partition", recon_loses_a_row)
    manifest = write_manifest(
        tmp_path / "m.json",
        [
            (edge, "good", DAY, list(CENTRE)),
            (broken, "broken", DAY),
            (empty, "empty", DAY),
            (tmp_path / "missing", "missing", DAY),
            (edge2, "recon", DAY, list(CENTRE)),
            (f"file://{tmp_path}/gone", "gone", DAY),
        ],
    )
    result, messages = run_argv(spark, tmp_path, ["--manifest", manifest, "--namespace", ns])

    assert (
        list(result["partitions"]) == [key("good", DAY)]
        and result["partitions"][key("good", DAY)]["rows_written"] == 13
    )
    codes = {k: f["code"] for k, f in result["failed"].items()}
    assert codes == {
        key("broken", DAY): "unreadable_input",
        key("empty", DAY): "no_input_files",
        key("missing", DAY): "unreadable_input",
        key("recon", DAY): "reconciliation_failed",
        key("gone", DAY): "unreadable_input",
    }
    errors = {m["partition_key"]: m for m in by_type(messages, "error")}
    assert {k: m["code"] for k, m in errors.items()} == codes
    assert "broken.json" in errors[key("broken", DAY)]["message"]
    assert "no input files" in errors[key("empty", DAY)]["message"]
    assert "missing" in errors[key("missing", DAY)]["message"] and "gone" in errors[key("gone", DAY)]["message"]
    checks = {m["partition_key"]: m["passed"] for m in by_type(messages, "check")}
    assert checks == {key("good", DAY): True, key("recon", DAY): False}
    assert [m["partition_key"] for m in by_type(messages, "materialization")] == [key("good", DAY)]

    assert len(rows(spark, "fact_telemetry_event", "good", DAY, namespace=ns)) == 13
    assert {c: content(spark, ns, t, c, DAY) for c in ("broken", "empty", "recon") for t in TABLES} == before
    assert rows(spark, "fact_telemetry_event", "missing", DAY, namespace=ns) == []


def test_rerunning_a_batch_is_idempotent_and_a_partition_run_alone_replaces_only_its_rows(spark, tmp_path, manifest):
    ns, eh, af = "rerun", "erinhills", "americanfalls"
    p1 = bronze_dir(tmp_path, "p1", [f"{eh}/{eh}.rounds.1.csv", f"{eh}/{eh}.rounds.2.csv"])
    p2 = bronze_dir(tmp_path, "p2", [f"{eh}/{eh}.rounds.1.json"])
    p3 = bronze_dir(tmp_path, "p3", [f"{af}/{af}.rounds.1.csv"])
    slices = [(p1, eh, DAY), (p2, eh, "2025-06-03"), (p3, af, DAY)]
    batch = write_manifest(tmp_path / "m.json", slices)

    def snapshot():
        return {(c, d, t): content(spark, ns, t, c, d) for _, c, d in slices for t in TABLES}

    first, _ = run_argv(spark, tmp_path, ["--manifest", batch, "--namespace", ns])
    before = snapshot()
    second, _ = run_argv(spark, tmp_path, ["--manifest", batch, "--namespace", ns])
    assert snapshot() == before
    assert per_partition(second) == per_partition(first)
    written = sum(r["rows_written"] for r in first["partitions"].values())
    assert second["commits"]["fact_telemetry_event"]["deleted_records"] == written
    assert second["table_rows_total"] == first["table_rows_total"] == written
    identities = spark.sql(
        f"SELECT count(DISTINCT course_id, ingest_date, round_id, fix_timestamp) FROM {ns}.fact_telemetry_event"
        " WHERE fix_timestamp IS NOT NULL"
    ).first()[0]
    assert (
        identities
        == spark.sql(f"SELECT count(*) FROM {ns}.fact_telemetry_event WHERE fix_timestamp IS NOT NULL").first()[0]
    )

    (p1 / f"{eh}.rounds.1.csv").unlink()  # one partition changes, and is run alone: only its rows are replaced
    alone, _ = run_job(spark, tmp_path, p1, eh, DAY, namespace=ns)
    f2 = file_entry(manifest, f"{eh}/{eh}.rounds.2.csv")
    assert alone["rows_written"] == f2["expected_silver_rows"]
    assert len(rows(spark, "fact_telemetry_event", eh, DAY, namespace=ns)) == f2["expected_silver_rows"]
    assert (
        len(rows(spark, "quarantine_telemetry_event", eh, DAY, namespace=ns))
        == f2["expected_quarantined_rows"]["total"]
    )
    after = snapshot()
    assert {k: v for k, v in after.items() if k[:2] != (eh, DAY)} == {
        k: v for k, v in before.items() if k[:2] != (eh, DAY)
    }


def slice_frame(spark, slices, tag):
    """Two fact rows per (course_id, ingest_date) slice, clustered as the job's rows are."""
    from pyspark.sql import functions as F

    from fairway_spark.silver import tables

    data = [(c, d, f"{tag}-{k}") for c, d in slices for k in range(2)]
    df = spark.createDataFrame(data, "course_id string, day string, round_id string").select(
        "course_id", "round_id", F.to_date("day").alias("ingest_date"), F.to_date("day").alias("event_date")
    )
    df = df.select(
        *[F.col(c) if c in df.columns else F.lit(None).cast(t).alias(c) for c, t in tables.TELEMETRY_COLUMNS]
    )
    return df.repartition(1).sortWithinPartitions("course_id", "ingest_date", "event_date")


def test_the_overwrite_replaces_exactly_its_slices_for_one_two_and_fifty_of_them(spark):
    from fairway_spark.silver import tables

    name = tables.ensure_table(spark, "slices", "fact_telemetry_event")
    grid = [(f"c{i:02d}", f"2025-06-{d:02d}") for i in range(10) for d in range(1, 6)]  # 10 courses x 5 days
    long = [("long", f"2025-{m:02d}-{d:02d}") for m in (1, 2) for d in range(1, 26)]  # 1 course x 50 days
    commit = tables.overwrite_partitions(
        slice_frame(spark, grid + long, "v1"), name, tables.slices_condition(grid + long), "run-v1"
    )
    assert commit["added_records"] == 200 and commit["deleted_records"] == 0

    for tag, slices in (("v2", grid[:1]), ("v3", [grid[7], grid[23]]), ("v4", grid), ("v5", long)):
        commit = tables.overwrite_partitions(
            slice_frame(spark, slices, tag), name, tables.slices_condition(slices), f"run-{tag}"
        )
        assert commit["deleted_records"] == commit["added_records"] == 2 * len(slices), tag
        assert commit["total_records"] == 200
        got = {(r.course_id, str(r.ingest_date)) for r in spark.table(name).where(f"round_id LIKE '{tag}-%'").collect()}
        assert got == set(slices), tag
    counts = {
        r.tag: r.n
        for r in spark.sql(f"SELECT split(round_id, '-')[0] AS tag, count(*) AS n FROM {name} GROUP BY 1").collect()
    }
    assert counts == {"v4": 100, "v5": 100}


def test_an_overwrite_validated_from_a_snapshot_fails_when_another_commit_wrote_its_slices_since(spark):
    import pytest

    from fairway_spark.silver import tables

    name = tables.ensure_table(spark, "validated", "fact_telemetry_event")
    mine, other = [("a", "2025-06-01")], [("b", "2025-06-01")]
    tables.overwrite_partitions(
        slice_frame(spark, mine + other, "v1"), name, tables.slices_condition(mine + other), "r1"
    )
    read = int(spark.sql(f"SELECT snapshot_id FROM {name}.refs WHERE name = 'main'").first().snapshot_id)
    # another writer commits to a different slice: no conflict
    tables.overwrite_partitions(slice_frame(spark, other, "v2"), name, tables.slices_condition(other), "r2")
    tables.overwrite_partitions(
        slice_frame(spark, mine, "v3"), name, tables.slices_condition(mine), "r3", validate_from=read
    )
    # ... and then to mine: a write decided on the older snapshot must not overwrite it
    tables.overwrite_partitions(slice_frame(spark, mine, "v4"), name, tables.slices_condition(mine), "r4")
    with pytest.raises(Exception, match="(?i)conflict"):
        tables.overwrite_partitions(
            slice_frame(spark, mine, "v5"), name, tables.slices_condition(mine), "r5", validate_from=read
        )
    assert {r.round_id.split("-")[0] for r in spark.table(name).where("course_id = 'a'").collect()} == {"v4"}


def test_the_batch_plan_has_one_shuffle_of_the_wide_rows(spark, tmp_path):
    from fairway_spark.silver import transform
    from fairway_spark.silver_job import configure_session

    configure_session(spark)  # as the job runs: no adaptive re-planning
    edges = [tmp_path / "edge0", tmp_path / "edge1"]
    for d in edges:
        write_edge_partition(d)
    paths = {0: str(edges[0]), 1: f"file://{edges[1]}"}
    parsed = transform.with_row_id(transform.read_partitions(spark, transform.list_many(paths)))
    records = transform.typed_records(parsed, ["a", "b"], [DAY, DAY])
    flagged = transform.with_quarantine_reason(records, [CENTRE, None], (-180, 180, -90, 90))
    for batched, keys in ((True, "hashpartitioning(part_idx"), (False, "hashpartitioning(event_date")):
        ranked = transform.ranked_for_dedup(flagged, 2, batched=batched)
        derived = transform.derive(
            transform.kept_rows(transform.with_superseded(ranked, set())),
            [[], [3]],
            ["UTC", "America/Chicago"],
            with_h3=True,
        )
        plan = derived._jdf.queryExecution().executedPlan().toString()
        assert plan.count("Exchange") == 1 and keys in plan, plan
