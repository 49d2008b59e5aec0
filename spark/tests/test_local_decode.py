"""A local partition decoded in the driver (silver/local_decode.py) against the task-side decoding."""

import json
import os

import pytest

from silver import local_decode, transform
from silver.errors import JobError
from test_silver_job import write_edge_partition


def records(df) -> list[str]:
    return sorted(json.dumps(r.asDict(), sort_keys=True) for r in df.drop("row_id").collect())


def test_the_driver_decodes_the_same_records_as_the_tasks(spark, tmp_path):
    bronze = tmp_path / "edge"
    write_edge_partition(bronze)
    (bronze / ".part.csv.crc").write_bytes(b"\x00")  # hidden files are skipped, as by Spark's file sources
    (bronze / "_SUCCESS").write_bytes(b"")

    with local_decode.decoding(str(bronze), "local[2]") as decode:
        assert [os.path.basename(p) for p, _ in decode.files] == ["a.csv", "b.csv", "c.json", "d.json"]
        directory = decode.parquet_dir()
        local = records(transform.read_decoded(spark, directory))
    assert not os.path.exists(directory)  # removed when the job is done with it

    remote = records(transform.read_partition(spark, str(bronze), 4))
    assert local == remote  # 20 real fixes (padding slots are counted, not emitted) and a stats record per file
    assert sum('"record_kind": "loc"' in r for r in local) == 20 and sum('"record_kind": "stats"' in r for r in local) == 4


def test_an_empty_file_is_listed_and_reported_as_rejected(spark, tmp_path):
    bronze = tmp_path / "empty"
    bronze.mkdir()
    (bronze / "nothing.csv").write_bytes(b"")
    with local_decode.decoding(str(bronze), "local[2]") as decode:
        stats = transform.file_stats(transform.read_decoded(spark, decode.parquet_dir()))
    assert stats == [{"file": "nothing.csv", "format": "csv", "rejected": "empty_file"}]


def test_a_file_that_cannot_be_read_is_an_unreadable_input_error(tmp_path):
    decode = local_decode.LocalDecode([(str(tmp_path / "gone.csv"), 10)])
    try:
        with pytest.raises(JobError) as e:
            decode.parquet_dir()
    finally:
        decode.close()
    assert e.value.code == "unreadable_input" and "gone.csv" in str(e.value)


def test_only_local_paths_on_a_local_master_are_decoded_in_the_driver(tmp_path):
    assert local_decode.applies(str(tmp_path), "local[2]")
    assert not local_decode.applies("s3a://bronze/course_id=c/ingest_date=2025-06-02", "local[2]")
    assert not local_decode.applies(str(tmp_path), "yarn")
    with local_decode.decoding("s3a://bronze/x", "local[2]") as decode:
        assert decode is None
    with pytest.raises(JobError) as e:
        local_decode.visible_files(str(tmp_path / "missing"))
    assert e.value.code == "unreadable_input" and "missing" in str(e.value)
