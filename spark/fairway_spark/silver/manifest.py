"""The Bronze partitions of one Silver run: the ``--manifest`` file, or the single-partition options.

    {"partitions": [
      {"partition_key": "course_id=erinhills,ingest_date=2025-06-02", "course_id": "erinhills",
       "ingest_date": "2025-06-02", "bronze_path": "/abs/dir or s3://bucket/prefix/",
       "course_centre": [-88.3, 43.2] or null, "course_timezone": "America/Chicago" or null}
    ]}

Every value is checked with the same validators as the command-line options; a bad file is a
``bad_arguments`` error (exit 2). A missing time zone is UTC; a missing centre is derived from the
partition's own fixes (``transform.robust_centres``). A ``bronze_path`` in S3 may also be spelt ``s3a://``
(read the same way, silver/bronze_files.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import zoneinfo
from dataclasses import dataclass

from fairway_spark.silver.errors import JobError


@dataclass(frozen=True)
class Partition:
    """One Bronze partition of the run; its position in the run's list is its ``part_idx``."""

    key: str
    course_id: str
    ingest_date: str
    bronze_path: str  # absolute for a local directory
    course_centre: tuple[float, float] | None
    course_timezone: str


# ---- validators (argparse types: they raise ArgumentTypeError with the message) --------------------


def iso_date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat() if len(value) == 10 else _bad_date(value)
    except ValueError:
        return _bad_date(value)


def _bad_date(value: str):
    raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {value!r}")


def centre(value: str) -> tuple[float, float]:
    try:
        lon, lat = (float(p) for p in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'lon,lat', got {value!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise argparse.ArgumentTypeError(f"lon,lat out of range: {value!r}")
    return lon, lat


def timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown IANA time zone {value!r}") from None
    return value


def identifier(value: str) -> str:
    if not value.replace("_", "").isalnum() or not value[0].isalpha():
        raise argparse.ArgumentTypeError(f"must be a SQL identifier (letters, digits, _), got {value!r}")
    return value.lower()


def course_id(value: str) -> str:
    if not value.strip() or any(c in value for c in "'\"\\/\n"):
        raise argparse.ArgumentTypeError(f"invalid course id {value!r}")
    return value.strip()


# ---- partitions ----------------------------------------------------------------------------------------


def default_key(course: str, ingest_date: str) -> str:
    return f"course_id={course},ingest_date={ingest_date}"


def is_uri(path: str) -> bool:
    """``s3://…``, ``file:/…``: listed and read by URI (silver/bronze_files.py), not as a local directory."""
    return "://" in path or path.startswith("file:")


def absolute(path: str) -> str:
    """A local directory as an absolute path; a URI as it is."""
    return path if is_uri(path) else os.path.abspath(path)


def dir_key(path: str) -> str:
    """A directory however a manifest may spell it, in one form (duplicates are found by it): ``file:/x``,
    ``file:///x`` and ``/x`` are ``/x``; ``s3a://b/x/`` is ``s3://b/x`` (trailing slashes go)."""
    if path.startswith("s3a://"):
        path = "s3://" + path[len("s3a://") :]
    if path.startswith("file:"):
        path = "/" + path[len("file:") :].lstrip("/")
    return path.rstrip("/") or "/"


def single(bronze_path: str, course: str, ingest_date: str, course_centre, course_timezone: str | None) -> Partition:
    """The single-partition command-line options as a manifest of one."""
    return Partition(
        default_key(course, ingest_date),
        course,
        ingest_date,
        absolute(bronze_path),
        tuple(course_centre) if course_centre else None,
        course_timezone or "UTC",
    )


_FIELDS = {"partition_key", "course_id", "ingest_date", "bronze_path", "course_centre", "course_timezone"}


def read(path: str) -> list[Partition]:
    """The partitions of a manifest file, checked; raises a ``bad_arguments`` JobError (exit 2)."""
    try:
        if path.startswith("s3://"):  # a job on EMR Serverless: the manifest Fairway uploaded for the run
            from fairway_pipes.s3 import read_text

            doc = json.loads(read_text(path))
        else:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
    except OSError as e:
        raise _bad(path, f"cannot read it: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _bad(path, f"not valid JSON ({e})") from None
    entries = doc.get("partitions") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise _bad(path, 'must be an object with a non-empty "partitions" list')
    partitions = []
    for i, entry in enumerate(entries):
        try:
            partitions.append(_partition(entry))
        except (argparse.ArgumentTypeError, ValueError) as e:
            raise _bad(path, f"partitions[{i}]: {e}") from None
    _check_unique(path, partitions)
    return partitions


def _partition(entry) -> Partition:
    if not isinstance(entry, dict):
        raise ValueError("must be an object")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {unknown}")
    key, course, day, bronze = (_text(entry, f) for f in ("partition_key", "course_id", "ingest_date", "bronze_path"))
    return Partition(
        key=key,
        course_id=_checked("course_id", course_id, course),
        ingest_date=_checked("ingest_date", iso_date, day),
        bronze_path=absolute(bronze),
        course_centre=_centre(entry.get("course_centre")),
        course_timezone=_checked("course_timezone", timezone, entry.get("course_timezone") or "UTC"),
    )


def _text(entry: dict, field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _checked(field: str, validator, value: str):
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {value!r}")
    try:
        return validator(value)
    except argparse.ArgumentTypeError as e:
        raise ValueError(f"{field} {e}") from None


def _centre(value) -> tuple[float, float] | None:
    if value is None:
        return None
    numbers = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )
    if not numbers:
        raise ValueError(f"course_centre must be [lon, lat] or null, got {value!r}")
    return _checked("course_centre", centre, f"{value[0]},{value[1]}")


def _check_unique(path: str, partitions: list[Partition]) -> None:
    for what, value_of in (
        ("partition_key", lambda p: p.key),
        ("(course_id, ingest_date)", lambda p: (p.course_id, p.ingest_date)),
        ("bronze_path", lambda p: dir_key(p.bronze_path)),
    ):
        seen = set()
        for p in partitions:
            value = value_of(p)
            if value in seen:
                raise _bad(path, f"duplicate {what} {value!r}")
            seen.add(value)


def _bad(path: str, message: str) -> JobError:
    return JobError(f"--manifest {path}: {message}", code="bad_arguments", exit_code=2)
