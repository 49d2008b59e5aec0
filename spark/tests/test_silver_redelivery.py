"""A round delivered twice (silver/redelivery.py): the newest delivery wins, across partitions and runs."""

from test_silver_batch import TABLES, bronze_dir, content, key
from test_silver_job import file_entry, run_argv, run_job, write_manifest

EH = "erinhills"
DAY1, DAY2 = "2025-06-02", "2025-06-03"
CSV1, CSV2, JSON1 = (f"{EH}/{EH}.rounds.{k}" for k in ("1.csv", "2.csv", "1.json"))  # JSON1: CSV1's rounds again


def duplicate_fixes(spark, namespace):
    return spark.sql(f"""SELECT round_id, fix_timestamp FROM {namespace}.fact_telemetry_event
                         WHERE fix_timestamp IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1""").count()


def table_rows(spark, namespace, table):
    return spark.table(f"{namespace}.{table}").count()


def rounds_by_ingest_date(spark, namespace, table="fact_telemetry_event"):
    rows = spark.sql(f"SELECT ingest_date, collect_set(round_id) AS r FROM {namespace}.{table} GROUP BY 1").collect()
    return {str(r.ingest_date): set(r.r) for r in rows}


def snapshot_count(spark, namespace, table):
    return spark.sql(f"SELECT count(*) FROM {namespace}.{table}.snapshots").first()[0]


def reconciles(r):
    return r["real_rows"] == r["rows_written"] + r["quarantined_total"] + r["duplicates_removed"] + r["superseded_rows"]


def test_a_file_re_sent_under_a_later_ingest_date_replaces_the_older_copies_in_one_commit_per_table(
    spark, tmp_path, manifest
):
    ns = "redelivered"
    csv1 = file_entry(manifest, CSV1)
    day1 = bronze_dir(tmp_path, "day1", [CSV1, CSV2])
    day2 = bronze_dir(tmp_path, "day2", [JSON1])  # CSV1's rounds, delivered again (as JSON) the next day
    first, _ = run_job(spark, tmp_path, day1, EH, DAY1, namespace=ns)
    assert first["superseded_rows"] == 0 and first["replaced_rows"] == 0
    snapshots = {t: snapshot_count(spark, ns, t) for t in TABLES}

    second, messages = run_job(spark, tmp_path, day2, EH, DAY2, namespace=ns)

    # the day-2 copy is written whole and replaces every row of the day-1 copy, fact and quarantine alike
    assert reconciles(second) and second["superseded_rows"] == 0
    assert second["replaced_rows"] == csv1["expected_silver_rows"] == second["rows_written"]
    assert second["replaced_quarantined_rows"] == csv1["expected_quarantined_rows"]["total"]
    assert second["replaced_ingest_dates"] == [DAY1]
    assert duplicate_fixes(spark, ns) == 0
    by_day = rounds_by_ingest_date(spark, ns)
    assert by_day[DAY1] and by_day[DAY2] and not by_day[DAY1] & by_day[DAY2]  # day 1 keeps its other rounds
    # the table holds what was written minus what was replaced; device health has one row per fact row
    fact_rows = first["rows_written"] + second["rows_written"] - second["replaced_rows"]
    assert table_rows(spark, ns, "fact_telemetry_event") == fact_rows == table_rows(spark, ns, "fact_device_health")
    assert table_rows(spark, ns, "quarantine_telemetry_event") == (
        first["quarantined_total"] + second["quarantined_total"] - second["replaced_quarantined_rows"]
    )
    # ... in one commit per table, which carries the rewrite of the day-1 partitions
    for t in TABLES:
        assert snapshot_count(spark, ns, t) == snapshots[t] + 1, t
    (materialization,) = [m for m in messages if m["type"] == "materialization"]
    assert materialization["metadata"]["replaced_rows"]["value"] == second["replaced_rows"]
    (check,) = [m for m in messages if m["type"] == "check"]
    assert check["passed"] and check["metadata"]["superseded_rows"]["value"] == 0
    after_second = {t: content(spark, ns, t, EH, d) for t in TABLES for d in (DAY1, DAY2)}

    # re-running the older delivery does not bring the old copy back: those rounds are superseded, counted
    again, _ = run_job(spark, tmp_path, day1, EH, DAY1, namespace=ns)
    assert reconciles(again) and again["replaced_rows"] == 0
    assert again["superseded_rows"] == csv1["expected_silver_rows"] + csv1["expected_quarantined_rows"]["total"]
    assert again["rows_written"] == first["rows_written"] - csv1["expected_silver_rows"]
    assert {t: content(spark, ns, t, EH, d) for t in TABLES for d in (DAY1, DAY2)} == after_second
    assert duplicate_fixes(spark, ns) == 0


def test_both_deliveries_in_one_batch_give_the_tables_of_running_them_one_after_the_other(spark, tmp_path):
    ns_seq, ns_batch = "redelivered_seq", "redelivered_batch"
    day1 = bronze_dir(tmp_path, "day1", [CSV1, CSV2])
    day2 = bronze_dir(tmp_path, "day2", [JSON1])
    run_job(spark, tmp_path, day1, EH, DAY1, namespace=ns_seq)
    run_job(spark, tmp_path, day2, EH, DAY2, namespace=ns_seq)

    m = write_manifest(tmp_path / "m.json", [(day2, EH, DAY2), (day1, EH, DAY1)])  # order does not matter
    result, _ = run_argv(spark, tmp_path, ["--manifest", m, "--namespace", ns_batch])

    assert result["failed"] == {}
    older, newer = result["partitions"][key(EH, DAY1)], result["partitions"][key(EH, DAY2)]
    assert reconciles(older) and reconciles(newer)
    assert older["superseded_rows"] > 0 and newer["superseded_rows"] == 0
    assert newer["replaced_rows"] == 0  # nothing older was in the tables: the batch's own copy was never written
    assert duplicate_fixes(spark, ns_batch) == 0
    for t in TABLES:
        for d in (DAY1, DAY2):
            assert content(spark, ns_batch, t, EH, d) == content(spark, ns_seq, t, EH, d), (t, d)


def test_a_run_that_died_between_its_commits_is_repaired_by_the_next(spark, tmp_path, monkeypatch):
    import pytest

    from fairway_spark.silver import tables

    ns = "redelivered_crash"
    day1 = bronze_dir(tmp_path, "day1", [CSV1, CSV2])
    day2 = bronze_dir(tmp_path, "day2", [JSON1])
    run_job(spark, tmp_path, day1, EH, DAY1, namespace=ns)
    real = tables.overwrite_partitions

    def dies_after_the_fact_commit(df, name, *args, **kwargs):
        if name.endswith("fact_device_health"):
            raise RuntimeError("killed between commits")
        return real(df, name, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(tables, "overwrite_partitions", dies_after_the_fact_commit)
        with pytest.raises(RuntimeError, match="killed between commits"):
            run_argv(
                spark,
                tmp_path,
                ["--bronze-path", str(day2), "--course-id", EH, "--ingest-date", DAY2, "--namespace", ns],
            )
    # half written: the fact table lost the day-1 copy, device health still has it
    assert rounds_by_ingest_date(spark, ns, "fact_device_health")[DAY1] & rounds_by_ingest_date(spark, ns)[DAY2]

    again, _ = run_job(spark, tmp_path, day2, EH, DAY2, namespace=ns)
    assert reconciles(again)
    health = rounds_by_ingest_date(spark, ns, "fact_device_health")
    assert not health[DAY1] & health[DAY2]
    assert table_rows(spark, ns, "fact_device_health") == table_rows(spark, ns, "fact_telemetry_event")
    assert duplicate_fixes(spark, ns) == 0
