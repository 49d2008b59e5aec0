"""Local partitions decoded in the driver (silver/local_decode.py) against the task-side decoding."""

import json
import os

import pytest
from test_silver_job import write_edge_partition

from fairway_spark.silver import bronze_files, local_decode, manifest, transform
from fairway_spark.silver.errors import JobError


def records(df) -> list[str]:
    return sorted(json.dumps(r.asDict(), sort_keys=True) for r in df.collect())


def partition(path, course="c", day="2025-06-02"):
    return manifest.single(str(path), course, day, None, None)


def test_the_driver_decodes_the_same_records_as_the_tasks(spark, tmp_path):
    bronze = tmp_path / "edge"
    write_edge_partition(bronze)
    (bronze / ".part.csv.crc").write_bytes(b"\x00")  # hidden files are skipped, as by Spark's file sources
    (bronze / "_SUCCESS").write_bytes(b"")

    with local_decode.decoding([partition(bronze)], "local[2]") as decode:
        assert [os.path.basename(p) for p, _ in decode.files[0]] == ["a.csv", "b.csv", "c.json", "d.json"]
        directory = decode.parquet_dir()
        local = records(transform.read_decoded(spark, directory))
    assert not os.path.exists(directory)  # removed when the job is done with it

    remote = records(transform.read_partitions(spark, transform.list_many({0: str(bronze)})))
    assert local == remote  # 20 real fixes (padding slots are counted, not emitted) and a stats record per file
    assert (
        sum('"record_kind": "loc"' in r for r in local) == 20 and sum('"record_kind": "stats"' in r for r in local) == 4
    )
    assert all('"part_idx": 0' in r for r in local)


def test_records_of_several_partitions_carry_their_part_idx_however_the_path_is_spelt(spark, tmp_path):
    dirs = [tmp_path / "p0", tmp_path / "p1", tmp_path / "p2"]
    for d in dirs:
        write_edge_partition(d)
    parts = [partition(d, day=f"2025-06-0{i + 1}") for i, d in enumerate(dirs)]
    with local_decode.decoding(parts, "local[2]") as decode:
        local = records(transform.read_decoded(spark, decode.parquet_dir()))
    # the manifest may say file:///…/, file:/… or a plain path with a slash
    spelt = {0: f"file://{dirs[0]}/", 1: f"file:{dirs[1]}", 2: f"{dirs[2]}/"}
    remote = records(transform.read_partitions(spark, transform.list_many(spelt)))
    assert local == remote
    for i in range(3):
        assert sum(f'"part_idx": {i}' in r for r in local) == 24


def test_remote_directories_are_listed_without_hidden_files_or_subdirectories(spark, tmp_path):
    bronze = tmp_path / "edge"
    write_edge_partition(bronze)
    (bronze / "_SUCCESS").write_bytes(b"")
    (bronze / "sub").mkdir()
    (bronze / "sub" / "x.csv").write_text("_id,course\n")
    listed = transform.list_many({0: f"file://{bronze}", 1: f"file://{tmp_path}/missing"})
    assert [os.path.basename(p) for p, _ in listed[0]] == ["a.csv", "b.csv", "c.json", "d.json"]
    assert isinstance(listed[1], JobError) and listed[1].code == "unreadable_input"
    assert str(listed[1]) == f"cannot list file://{tmp_path}/missing: No such file or directory"


def test_an_empty_file_is_listed_and_reported_as_rejected(spark, tmp_path):
    bronze = tmp_path / "empty"
    bronze.mkdir()
    (bronze / "nothing.csv").write_bytes(b"")
    with local_decode.decoding([partition(bronze)], "local[2]") as decode:
        stats = transform.file_stats(transform.read_decoded(spark, decode.parquet_dir()))
    assert stats == [{"part_idx": 0, "file": "nothing.csv", "format": "csv", "rejected": "empty_file"}]


def test_a_partition_that_cannot_be_listed_or_read_fails_alone(spark, tmp_path):
    good = tmp_path / "good"
    write_edge_partition(good)
    decode = local_decode.LocalDecode({0: [(str(tmp_path / "gone.csv"), 10)], 1: bronze_files.list_files(str(good))})
    try:
        directory = decode.parquet_dir()
        assert list(decode.read_errors) == [0] and "gone.csv" in decode.read_errors[0]
        parts = {r.part_idx for r in transform.read_decoded(spark, directory).select("part_idx").distinct().collect()}
        assert parts == {1}
    finally:
        decode.close()

    with local_decode.decoding(
        [partition(tmp_path / "missing"), partition(good, day="2025-06-03")], "local[2]"
    ) as decode:
        assert list(decode.list_errors) == [0] and "missing" in decode.list_errors[0]
        assert decode.covers(0) and decode.covers(1) and list(decode.files) == [1]


def test_only_local_paths_on_a_local_master_are_decoded_in_the_driver(tmp_path):
    assert local_decode.applies(str(tmp_path), "local[2]")
    assert not local_decode.applies("s3://bronze/course_id=c/ingest_date=2025-06-02", "local[2]")
    assert not local_decode.applies(f"file://{tmp_path}", "local[2]")
    assert not local_decode.applies(str(tmp_path), "yarn")
    with local_decode.decoding([partition("s3://bronze/x")], "local[2]") as decode:
        assert decode is None
    with pytest.raises(JobError) as e:
        bronze_files.list_files(str(tmp_path / "missing"))
    assert e.value.code == "unreadable_input" and "missing" in str(e.value)


def test_directories_of_killed_jobs_are_removed_and_live_ones_kept(tmp_path):
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    abandoned = tmp_path / f"{local_decode.TEMP_PREFIX}{gone.pid}-abc"
    live = tmp_path / f"{local_decode.TEMP_PREFIX}{os.getpid()}-def"
    other = tmp_path / "something-else"
    for d in (abandoned, live, other):
        d.mkdir()
        (d / "records.parquet").write_bytes(b"x")
    assert local_decode.remove_abandoned_dirs(str(tmp_path)) == [abandoned.name]
    assert not abandoned.exists() and live.exists() and other.exists()
