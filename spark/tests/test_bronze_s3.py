"""Bronze in S3, listed and read through pyarrow's S3 file system (silver/bronze_files.py), against a real S3 API:
moto's server (the venv scripts/pytest.ts names in FAIRWAY_MOTO_SERVER, as tests/e2e/aws-emulator.ts uses it)."""

import os
import socket
import subprocess
import time
import urllib.request

import pytest
from test_silver_batch import SHARED, TABLES, by_type, content, key
from test_silver_job import CENTRE, run_argv, run_job, write_edge_partition, write_manifest

from fairway_spark.session import session_conf
from fairway_spark.silver import bronze_files, transform
from fairway_spark.silver.errors import JobError

DAY = "2025-06-02"
BUCKET = "bronze"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto():
    """moto's S3 on a free port of 127.0.0.1: its endpoint."""
    server = os.environ.get("FAIRWAY_MOTO_SERVER")
    if not server:
        pytest.fail("FAIRWAY_MOTO_SERVER is not set: run the tests with node --import tsx scripts/pytest.ts")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, f"moto exited with {proc.returncode}"
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3(moto, spark, monkeypatch):
    """The S3 settings in this process's environment (the driver lists) and in the Python workers' (the tasks
    read: ``spark.executorEnv.*`` lands in the same place); a boto3 client with the bucket."""
    import boto3

    env = {
        "FAIRWAY_S3_ENDPOINT": moto,
        "FAIRWAY_S3_PATH_STYLE": "true",
        "FAIRWAY_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
        monkeypatch.setitem(spark.sparkContext.environment, k, v)
    client = boto3.client(
        "s3",
        endpoint_url=moto,
        region_name="us-east-1",
        aws_access_key_id="testing-key-id",
        aws_secret_access_key="testing-secret-key",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def upload(client, directory, prefix):
    for f in sorted(os.listdir(directory)):
        client.upload_file(str(directory / f), BUCKET, f"{prefix}{f}")
    return f"s3://{BUCKET}/{prefix}"


def test_a_batch_reads_bronze_from_s3_as_it_reads_a_local_directory(spark, tmp_path, s3):
    edge = tmp_path / "edge"
    write_edge_partition(edge)
    written, _ = run_job(
        spark, tmp_path, edge, "edgecourse", DAY, f"--course-centre={CENTRE[0]},{CENTRE[1]}", namespace="s3local"
    )

    in_s3 = upload(s3, edge, f"course_id=edgecourse/ingest_date={DAY}/")
    # not Bronze files: a hidden object and one under a deeper prefix
    s3.put_object(Bucket=BUCKET, Key=f"course_id=edgecourse/ingest_date={DAY}/_SUCCESS", Body=b"")
    s3.put_object(Bucket=BUCKET, Key=f"course_id=edgecourse/ingest_date={DAY}/sub/x.csv", Body=b"_id,course\n")
    other = upload(s3, edge, "course_id=other/ingest_date=2025-06-03/").replace("s3://", "s3a://")
    manifest = write_manifest(
        tmp_path / "s3.json",
        [
            (in_s3, "edgecourse", DAY, list(CENTRE)),
            (other, "other", "2025-06-03", list(CENTRE)),  # the s3a:// spelling reads the same
            (f"s3://{BUCKET}/course_id=missing/ingest_date={DAY}/", "missing", DAY),
            (f"s3://no-such-bucket/course_id=x/ingest_date={DAY}/", "nobucket", DAY),
        ],
    )
    result, messages = run_argv(spark, tmp_path, ["--manifest", manifest, "--namespace", "s3batch"])

    assert sorted(result["partitions"]) == [key("edgecourse", DAY), key("other", "2025-06-03")]
    same = lambda r: {f: v for f, v in r.items() if f not in SHARED}  # noqa: E731
    assert same(result["partitions"][key("edgecourse", DAY)]) == same(written)
    for t in TABLES:
        assert content(spark, "s3batch", t, "edgecourse", DAY) == content(spark, "s3local", t, "edgecourse", DAY), t
    errors = {m["partition_key"]: m for m in by_type(messages, "error")}
    assert {k: m["code"] for k, m in errors.items()} == {
        key("missing", DAY): "unreadable_input",
        key("nobucket", DAY): "unreadable_input",
    }
    assert errors[key("missing", DAY)]["message"].endswith(
        f"cannot list s3://{BUCKET}/course_id=missing/ingest_date={DAY}/: no object under this prefix"
    )
    assert "NO_SUCH_BUCKET" in errors[key("nobucket", DAY)]["message"]


def test_an_object_listed_but_gone_when_read_fails_its_partition_only(spark, tmp_path, s3):
    edge = tmp_path / "edge"
    write_edge_partition(edge)
    prefix = upload(s3, edge, "course_id=gone/ingest_date=2025-06-04/")
    listed = transform.list_many({0: prefix, 1: prefix.replace("s3://", "s3a://")})
    assert [(os.path.basename(p), size) for p, size in listed[0]] == [
        (f, (edge / f).stat().st_size) for f in ("a.csv", "b.csv", "c.json", "d.json")
    ]
    s3.delete_object(Bucket=BUCKET, Key="course_id=gone/ingest_date=2025-06-04/b.csv")

    stats = transform.stats_by_partition(transform.file_stats(transform.read_partitions(spark, listed)))
    assert stats[1]["errors"] == [
        f"b.csv: cannot read s3a://{BUCKET}/course_id=gone/ingest_date=2025-06-04/b.csv: no such object"
    ]
    assert len(stats[0]["errors"]) == 1 and len(stats[0]["files"]) == len(stats[1]["files"]) == 4
    with pytest.raises(JobError, match="no such object"):
        bronze_files.read_file(f"{prefix}b.csv")


def test_the_s3_file_system_takes_the_profile_and_the_executors_get_it():
    options = lambda env: bronze_files.s3_filesystem(env).__reduce__()[1][0]  # noqa: E731
    local = {
        "FAIRWAY_S3_ENDPOINT": "http://127.0.0.1:8333",
        "FAIRWAY_S3_PATH_STYLE": "true",
        "FAIRWAY_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    expected = {"endpoint_override": "127.0.0.1:8333", "scheme": "http", "force_virtual_addressing": False}
    assert {k: options(local)[k] for k in expected} == expected and options(local)["access_key"] == "id"
    assert options({**local, "FAIRWAY_S3_PATH_STYLE": "false"})["force_virtual_addressing"] is True
    # AWS: its endpoint for the region, the default credential chain (a job role)
    aws = options({"FAIRWAY_S3_REGION": "eu-west-1"})
    assert (aws["endpoint_override"], aws["scheme"], aws["region"]) == ("", "https", "eu-west-1")
    assert aws["access_key"] is None

    catalog = {"FAIRWAY_CATALOG_URI": "jdbc:sqlite:file:/tmp/c.db"}
    cluster = session_conf({**catalog, **local, "FAIRWAY_SPARK_MASTER": "spark://127.0.0.1:7077"})
    assert {k: v for k, v in cluster.items() if k.startswith("spark.executorEnv.") and k != "spark.executorEnv.TZ"} == {
        f"spark.executorEnv.{k}": v for k, v in local.items()
    }
    assert not any("s3a" in k for k in cluster)
    # local mode: the Python workers inherit the driver's environment; nothing to hand over
    assert not any(k.startswith("spark.executorEnv.") for k in session_conf({**catalog, **local}))
    managed = session_conf({**catalog, "FAIRWAY_SPARK_MASTER": "managed", "FAIRWAY_S3_REGION": "eu-west-1"})
    assert {k: v for k, v in managed.items() if k.startswith("spark.executorEnv.")} == {
        "spark.executorEnv.FAIRWAY_S3_REGION": "eu-west-1"
    }
