"""Write-audit-publish (fairway_spark.wap): the job writes an audit branch, main moves only when it is published."""

import json

from test_silver_batch import TABLES, bronze_dir
from test_silver_job import run_job

from fairway_spark import wap

EH, DAY1, DAY2 = "erinhills", "2025-06-02", "2025-06-03"
CSV1, CSV2 = (f"{EH}/{EH}.rounds.{k}" for k in ("1.csv", "2.csv"))


def main_snapshot(spark, ns, table):
    row = spark.sql(f"SELECT snapshot_id FROM {ns}.{table}.refs WHERE name = 'main'").first()
    return row.snapshot_id if row else None


def count(spark, ns, table, ref=None):
    version = f" VERSION AS OF '{ref}'" if ref else ""
    return spark.sql(f"SELECT count(*) FROM {ns}.{table}{version}").first()[0]


def branches(spark, ns, table):
    return {r.name for r in spark.sql(f"SELECT name FROM {ns}.{table}.refs").collect()} - {"main"}


def publish(ns, branch, retain_days=None, capsys=None):
    argv = ["publish", "--namespace", ns, "--tables", ",".join(TABLES), "--branch", branch]
    if retain_days is not None:
        argv += ["--retain-days", str(retain_days)]
    code = wap.main(argv)
    out = json.loads(capsys.readouterr().out)
    return code, out


def test_a_branch_write_leaves_main_as_it_was_until_published(spark, tmp_path, capsys):
    ns = "wap_ff"
    first, _ = run_job(spark, tmp_path, bronze_dir(tmp_path, "d1", [CSV1]), EH, DAY1, namespace=ns)
    before = {t: (main_snapshot(spark, ns, t), count(spark, ns, t)) for t in TABLES}

    second, _ = run_job(
        spark, tmp_path, bronze_dir(tmp_path, "d2", [CSV2]), EH, DAY2, "--branch", "audit_r2", namespace=ns
    )

    # readers of main see nothing of the run; the branch holds main plus the run's rows
    assert {t: (main_snapshot(spark, ns, t), count(spark, ns, t)) for t in TABLES} == before
    assert count(spark, ns, "fact_telemetry_event", "audit_r2") == first["rows_written"] + second["rows_written"]
    assert second["snapshot_id"] != str(before["fact_telemetry_event"][0])

    code, out = publish(ns, "audit_r2", capsys=capsys)
    assert code == 0, out
    assert [t["mode"] for t in out["tables"]] == ["fast_forward"] * 3
    # main is now exactly the audited snapshot: the data version the job reported is what readers see
    assert str(main_snapshot(spark, ns, "fact_telemetry_event")) == second["snapshot_id"]
    assert count(spark, ns, "fact_telemetry_event") == first["rows_written"] + second["rows_written"]
    assert all(branches(spark, ns, t) == set() for t in TABLES)


def test_two_runs_on_different_partitions_both_publish_and_the_same_partition_conflicts(spark, tmp_path, capsys):
    ns = "wap_rebase"
    run_job(spark, tmp_path, bronze_dir(tmp_path, "base", [CSV1]), EH, DAY1, namespace=ns)
    # two runs branch from the same main
    a, _ = run_job(spark, tmp_path, bronze_dir(tmp_path, "a", [CSV2]), EH, DAY2, "--branch", "audit_a", namespace=ns)
    b, _ = run_job(
        spark, tmp_path, bronze_dir(tmp_path, "b", [CSV2]), "otherclub", DAY2, "--branch", "audit_b", namespace=ns
    )
    c, _ = run_job(spark, tmp_path, bronze_dir(tmp_path, "c", [CSV2]), EH, DAY2, "--branch", "audit_c", namespace=ns)
    base_rows = count(spark, ns, "fact_telemetry_event")

    assert publish(ns, "audit_a", capsys=capsys)[0] == 0
    code, out = publish(ns, "audit_b", capsys=capsys)

    # b cannot fast-forward (main moved) and is re-applied on top: both runs' rows are in main, none twice
    assert code == 0, out
    assert [t["mode"] for t in out["tables"]] == ["rebase"] * 3
    assert count(spark, ns, "fact_telemetry_event") == base_rows + a["rows_written"] + b["rows_written"]
    for course, day, n in ((EH, DAY2, a["rows_written"]), ("otherclub", DAY2, b["rows_written"])):
        assert (
            spark.sql(
                f"SELECT count(*) FROM {ns}.fact_telemetry_event WHERE course_id = '{course}' "
                f"AND ingest_date = DATE'{day}'"
            ).first()[0]
            == n
        )
    assert str(main_snapshot(spark, ns, "fact_telemetry_event")) == out["tables"][0]["snapshot_id"]

    # c wrote the partition a published: publishing it would lose a's write or duplicate rows — refused, main kept
    before = {t: main_snapshot(spark, ns, t) for t in TABLES}
    code, out = publish(ns, "audit_c", capsys=capsys)
    assert code == 1 and out["code"] == "publish_conflict", out
    assert {t: main_snapshot(spark, ns, t) for t in TABLES} == before
    assert "audit_c" in branches(spark, ns, "fact_telemetry_event")  # kept for inspection


def test_old_audit_branches_expire_and_a_bad_branch_name_is_refused(spark, tmp_path, capsys):
    ns = "wap_expire"
    run_job(spark, tmp_path, bronze_dir(tmp_path, "d1", [CSV1]), EH, DAY1, "--branch", "audit_old", namespace=ns)
    run_job(spark, tmp_path, bronze_dir(tmp_path, "d2", [CSV2]), EH, DAY2, "--branch", "audit_new", namespace=ns)
    assert publish(ns, "audit_new", capsys=capsys)[0] == 0
    # a run that has only just made its branch (from main, no commit of its own yet) is never expired
    from fairway_spark.silver import tables

    for t in TABLES:
        tables.ensure_branch(spark, f"{ns}.{t}", "audit_starting")
    run_job(
        spark, tmp_path, bronze_dir(tmp_path, "d3", [CSV1]), EH, "2025-06-04", "--branch", "audit_newer", namespace=ns
    )
    code, out = publish(ns, "audit_newer", retain_days=0, capsys=capsys)
    assert code == 0, out
    assert out["expired"] == {t: ["audit_old"] for t in TABLES}
    assert all(branches(spark, ns, t) == {"audit_starting"} for t in TABLES)

    code, out = publish(ns, "main", capsys=capsys)
    assert code == 1 and out["code"] == "bad_branch"
