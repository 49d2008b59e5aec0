"""fairway_pipes: the message protocol, without Spark."""

import json
import math
import re

import pytest

from fairway_pipes import (
    CONTEXT_ENV,
    MESSAGES_ENV,
    STDERR_PREFIX,
    md_float,
    md_int,
    md_json,
    md_row_count,
    md_table_schema,
    md_text,
    open_pipes,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_messages_go_to_the_file_one_json_object_per_line(tmp_path):
    messages = tmp_path / "messages.jsonl"
    ctx = {
        "run_id": "01J",
        "asset_key": "silver.fact_telemetry_event",
        "partition_key": "a|2025-06-02",
        "partition": {"course_id": "a", "ingest_date": "2025-06-02"},
        "extras": {"x": 1},
    }
    env = {MESSAGES_ENV: str(messages), CONTEXT_ENV: json.dumps(ctx)}
    with open_pipes(env) as pipes:
        assert pipes.context == ctx
        assert pipes.run_id == "01J"
        assert pipes.partition == {"course_id": "a", "ingest_date": "2025-06-02"}
        pipes.log("info", "reading", files=3)
        # flushed after every line: readable while the channel is still open
        assert read_lines(messages)[0]["message"] == "reading"
        pipes.report_materialization(
            data_version="123",
            metadata={
                "rows": md_row_count(10),
                "ratio": md_float(0.5),
                "note": md_text("ok"),
                "n": md_int(3),
                "cols": md_table_schema([{"name": "a", "type": "int", "nullable": False}]),
                "blob": md_json({"nan": math.nan, "list": [1, 2]}),
            },
        )
        pipes.report_check("reconciliation", passed=False, severity="warn", failures=2, description="d")
        pipes.report_error("boom", code="bad", details={"file": "x.csv"})
    lines = read_lines(messages)
    assert [m["type"] for m in lines] == ["log", "materialization", "check", "error"]
    assert all(ISO_UTC.match(m["ts"]) for m in lines)
    assert lines[0] == {
        "type": "log",
        "ts": lines[0]["ts"],
        "level": "info",
        "message": "reading",
        "fields": {"files": 3},
    }
    mat = lines[1]
    assert mat["data_version"] == "123"
    assert mat["metadata"]["rows"] == {"type": "row_count", "value": 10}
    assert mat["metadata"]["cols"] == {
        "type": "table_schema",
        "value": [{"name": "a", "type": "int", "nullable": False}],
    }
    assert mat["metadata"]["blob"]["value"] == {"nan": None, "list": [1, 2]}  # JSON has no NaN
    assert lines[2] == {
        "type": "check",
        "ts": lines[2]["ts"],
        "name": "reconciliation",
        "passed": False,
        "severity": "warn",
        "failures": 2,
        "description": "d",
    }
    assert lines[3]["code"] == "bad" and lines[3]["details"] == {"file": "x.csv"}


def test_without_environment_messages_go_to_stderr_with_a_prefix(capsys):
    pipes = open_pipes({})
    assert pipes.context == {}
    pipes.log("warn", "by hand")
    pipes.report_materialization()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith(STDERR_PREFIX) for line in err)
    first = json.loads(err[0][len(STDERR_PREFIX) :])
    assert first["type"] == "log" and first["level"] == "warn" and "fields" not in first
    assert json.loads(err[1][len(STDERR_PREFIX) :]) == {
        "type": "materialization",
        "ts": json.loads(err[1][len(STDERR_PREFIX) :])["ts"],
        "metadata": {},
    }


def test_context_manager_reports_an_uncaught_exception_and_reraises(tmp_path):
    messages = tmp_path / "m.jsonl"
    with pytest.raises(ZeroDivisionError):
        with open_pipes({MESSAGES_ENV: str(messages)}):
            _ = 1 / 0
    (error,) = read_lines(messages)
    assert error["type"] == "error"
    assert error["message"].startswith("ZeroDivisionError")
    assert error["code"] == "uncaught_exception"


def test_rejects_unknown_levels_and_bad_context(tmp_path):
    pipes = open_pipes({MESSAGES_ENV: str(tmp_path / "m.jsonl")})
    with pytest.raises(ValueError):
        pipes.log("verbose", "x")
    with pytest.raises(ValueError):
        pipes.report_check("c", passed=True, severity="fatal")
    with pytest.raises(ValueError, match=CONTEXT_ENV):
        open_pipes({CONTEXT_ENV: "{not json"})


def test_a_partition_key_is_a_top_level_field_of_results_and_errors(tmp_path):
    messages = tmp_path / "m.jsonl"
    key = "course_id=erinhills,ingest_date=2025-06-02"
    with open_pipes({MESSAGES_ENV: str(messages)}) as pipes:
        pipes.report_materialization(data_version="1:ab", metadata={"n": md_int(1)}, partition_key=key)
        pipes.report_check("reconciliation", passed=True, partition_key=key)
        pipes.report_error("no input files", code="no_input_files", partition_key=key)
        pipes.report_error("spark died", code="internal_error")  # about the whole run: no partition_key
        pipes.report_materialization(data_version="2")
    lines = read_lines(messages)
    assert [m.get("partition_key") for m in lines] == [key, key, key, None, None]
    assert all("partition_key" not in m for m in lines[3:])
    assert lines[0]["data_version"] == "1:ab" and lines[0]["metadata"] == {"n": {"type": "int", "value": 1}}
    assert lines[1] == {
        "type": "check",
        "ts": lines[1]["ts"],
        "name": "reconciliation",
        "passed": True,
        "severity": "error",
        "partition_key": key,
    }
    assert lines[2]["code"] == "no_input_files" and lines[2]["message"] == "no input files"


class _Bucket:
    """Stands in for boto3's S3 client: keeps what ``put_object`` got, in order (the emulator test in
    tests/e2e/aws-emulator.test.ts runs the same writer against a real S3 API)."""

    def __init__(self):
        self.objects = {}

    def put_object(self, Bucket, Key, Body, ContentType):
        self.objects[(Bucket, Key)] = Body.decode("utf-8")

    def get_object(self, Bucket, Key):
        import io

        return {"Body": io.BytesIO(self.objects[(Bucket, Key)].encode("utf-8"))}


def test_messages_to_s3_go_in_numbered_chunks_at_most_every_flush_interval_and_the_rest_at_close():
    from fairway_pipes import Pipes
    from fairway_pipes.s3 import S3ChunkWriter, chunk_key

    assert chunk_key("jobs/r/s/messages/", 12) == "jobs/r/s/messages/000012.jsonl"
    bucket = _Bucket()
    pipes = Pipes({"run_id": "01J"}, None)
    pipes._file = S3ChunkWriter("s3://fairway-observability/jobs/r/s/messages", client=bucket, flush_seconds=3600)
    pipes.log("info", "one")
    pipes.log("info", "two")
    assert bucket.objects == {}  # within the interval: buffered, not one request per line
    pipes._file.flush_seconds = 0
    pipes.report_materialization(data_version="7:ab", partition_key="p1")
    pipes._file.flush_seconds = 3600
    pipes.report_error("boom", code="x", partition_key="p2")
    pipes.close()
    keys = sorted(bucket.objects)
    assert keys == [
        ("fairway-observability", "jobs/r/s/messages/000000.jsonl"),
        ("fairway-observability", "jobs/r/s/messages/000001.jsonl"),
    ]
    first = [json.loads(line) for line in bucket.objects[keys[0]].splitlines()]
    assert [m.get("message") or m["type"] for m in first] == ["one", "two", "materialization"]
    assert [json.loads(line)["type"] for line in bucket.objects[keys[1]].splitlines()] == ["error"]


def test_an_s3_messages_uri_must_name_a_bucket():
    from fairway_pipes.s3 import S3ChunkWriter

    with pytest.raises(ValueError, match="s3://bucket/prefix/"):
        S3ChunkWriter("/tmp/messages.jsonl", client=_Bucket())


def test_a_remote_job_reads_its_context_from_the_s3_object_the_variable_names(monkeypatch):
    from fairway_pipes import read_context
    from fairway_pipes import s3 as pipes_s3

    bucket = _Bucket()
    bucket.objects[("obs", "jobs/r/s/context.json")] = json.dumps(
        {"run_id": "01J", "extras": {"partitions": ["a"] * 500}}
    )
    monkeypatch.setattr(pipes_s3, "_client", lambda env: bucket)
    ctx = read_context({CONTEXT_ENV: "s3://obs/jobs/r/s/context.json"})
    assert ctx["run_id"] == "01J" and len(ctx["extras"]["partitions"]) == 500
