"""--manifest and the single-partition options (silver/manifest.py, silver_job.parse_args), without Spark."""

import json

import pytest

from fairway_spark.silver.errors import JobError
from fairway_spark.silver.manifest import dir_key
from fairway_spark.silver_job import parse_args


def entry(**overrides):
    e = {
        "partition_key": "course_id=erinhills,ingest_date=2025-06-02",
        "course_id": "erinhills",
        "ingest_date": "2025-06-02",
        "bronze_path": "/data/bronze/erinhills/2025-06-02",
        "course_centre": [-88.3433, 43.2483],
        "course_timezone": "America/Chicago",
    }
    e.update(overrides)
    return e


def parse_manifest(tmp_path, doc, *extra):
    path = tmp_path / "manifest.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return parse_args(["--manifest", str(path), *extra])


def bad_arguments(call) -> str:
    with pytest.raises(JobError) as e:
        call()
    assert e.value.code == "bad_arguments" and e.value.exit_code == 2
    return str(e.value)


def test_a_manifest_lists_the_partitions_in_order_with_defaults(tmp_path):
    args = parse_manifest(
        tmp_path,
        {
            "partitions": [
                entry(),
                entry(
                    partition_key="p2",
                    course_id="pinehurst4",
                    bronze_path="s3a://bronze/p4/2025-06-02/",
                    course_centre=None,
                    course_timezone=None,
                ),
                {"partition_key": "p3", "course_id": "x", "ingest_date": "2025-06-03", "bronze_path": "rel/dir"},
            ]
        },
        "--namespace",
        "Silver",
        "--min-lon=-100",
    )
    first, second, third = args.partitions
    assert (first.key, first.course_id, first.ingest_date, first.course_centre, first.course_timezone) == (
        "course_id=erinhills,ingest_date=2025-06-02",
        "erinhills",
        "2025-06-02",
        (-88.3433, 43.2483),
        "America/Chicago",
    )
    assert second.bronze_path == "s3a://bronze/p4/2025-06-02/" and second.course_centre is None
    assert second.course_timezone == third.course_timezone == "UTC"
    assert third.bronze_path.startswith("/") and third.bronze_path.endswith("/rel/dir")
    assert args.namespace == "silver" and args.min_lon == -100


def test_the_single_partition_options_are_a_manifest_of_one(tmp_path):
    args = parse_args(["--bronze-path", str(tmp_path), "--course-id", "erinhills", "--ingest-date", "2025-06-02"])
    (p,) = args.partitions
    assert p.key == "course_id=erinhills,ingest_date=2025-06-02" and p.bronze_path == str(tmp_path)
    assert p.course_centre is None and p.course_timezone == "UTC"
    args = parse_args(
        [
            "--bronze-path",
            str(tmp_path),
            "--course-id",
            "c",
            "--ingest-date",
            "2025-06-02",
            "--course-centre=-88.3,43.2",
            "--course-timezone",
            "America/Denver",
        ]
    )
    assert args.partitions[0].course_centre == (-88.3, 43.2) and args.partitions[0].course_timezone == "America/Denver"


@pytest.mark.parametrize(
    "doc, expected",
    [
        ("{not json", "not valid JSON"),
        ({"partitions": []}, 'non-empty "partitions" list'),
        ([entry()], 'non-empty "partitions" list'),
        ({"partitions": ["x"]}, "partitions[0]: must be an object"),
        ({"partitions": [entry(course_id="a/b")]}, "partitions[0]: course_id invalid course id"),
        ({"partitions": [entry(course_id=7)]}, "partitions[0]: course_id must be a non-empty string"),
        ({"partitions": [entry(ingest_date="2025-13-01")]}, "partitions[0]: ingest_date must be a date YYYY-MM-DD"),
        ({"partitions": [entry(course_centre=[200, 43])]}, "partitions[0]: course_centre lon,lat out of range"),
        ({"partitions": [entry(course_centre=[-88.3])]}, "course_centre must be [lon, lat] or null"),
        ({"partitions": [entry(course_centre=["-88", "43"])]}, "course_centre must be [lon, lat] or null"),
        (
            {"partitions": [entry(course_timezone="Mars/Olympus")]},
            "partitions[0]: course_timezone unknown IANA time zone",
        ),
        ({"partitions": [entry(bronze_path="")]}, "bronze_path must be a non-empty string"),
        ({"partitions": [entry(centre=[1, 2])]}, "unknown fields ['centre']"),
        ({"partitions": [entry(), entry(course_id="other", bronze_path="/x")]}, "duplicate partition_key"),
        ({"partitions": [entry(), entry(partition_key="p2", bronze_path="/x")]}, "duplicate (course_id, ingest_date)"),
        (
            {
                "partitions": [
                    entry(),
                    entry(
                        partition_key="p2", course_id="other", bronze_path="file:///data/bronze/erinhills/2025-06-02/"
                    ),
                ]
            },
            "duplicate bronze_path",
        ),
    ],
)
def test_a_bad_manifest_is_a_clean_bad_arguments_error(tmp_path, doc, expected):
    message = bad_arguments(lambda: parse_manifest(tmp_path, doc))
    assert expected in message and str(tmp_path / "manifest.json") in message


def test_exactly_one_of_the_two_forms_is_required(tmp_path):
    assert "--manifest cannot be combined with --course-id" in bad_arguments(
        lambda: parse_manifest(tmp_path, {"partitions": [entry()]}, "--course-id", "x")
    )
    assert "either --manifest FILE or --bronze-path" in bad_arguments(lambda: parse_args([]))
    assert "missing --ingest-date" in bad_arguments(
        lambda: parse_args(["--bronze-path", str(tmp_path), "--course-id", "x"])
    )
    assert "cannot read it" in bad_arguments(lambda: parse_args(["--manifest", str(tmp_path / "none.json")]))


def test_directories_compare_however_they_are_spelt():
    assert dir_key("file:/data/x") == dir_key("file:///data/x/") == dir_key("/data/x") == "/data/x"
    assert dir_key("s3a://bucket/prefix/") == dir_key("s3://bucket/prefix") == "s3://bucket/prefix"
