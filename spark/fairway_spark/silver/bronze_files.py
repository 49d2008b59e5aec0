"""Bronze files wherever they are: a partition directory listed in the driver, its files read in Spark's tasks
(or in the driver: silver/local_decode.py).

A partition directory is a local path (``/x``, ``file:/x``, ``file:///x``) or an S3 prefix (``s3://bucket/key``;
``s3a://`` is read the same way). S3 goes through pyarrow's own file system (``pyarrow.fs.S3FileSystem``, on the
AWS SDK for C++), not Hadoop's s3a: Spark's classpath has no hadoop-aws and no AWS SDK for Java v1. Iceberg keeps
its S3FileIO (AWS SDK for Java v2, in iceberg-aws-bundle) for the tables.

S3 is configured from the environment, with the variables session.py documents:

- ``FAIRWAY_S3_ENDPOINT``: an S3-compatible server (``http://127.0.0.1:8333``); none: AWS's endpoint;
- ``FAIRWAY_S3_PATH_STYLE``: the bucket in the path, not in the host name (with an endpoint only: AWS itself
  is addressed virtual-hosted);
- ``FAIRWAY_S3_REGION``;
- ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``): when given, these; else the AWS
  SDK's default credential chain (``~/.aws``, an instance, container or job role).

Spark's tasks read the same variables in their own processes: in local mode the Python workers inherit the
driver's environment; on a cluster master session.py hands them to the executors as ``spark.executorEnv.*``;
on EMR Serverless no keys are given and the executors use the job's role.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from urllib.parse import urlparse

from fairway_spark.silver.errors import JobError

S3_SCHEMES = ("s3://", "s3a://")
# What the S3 file system is built from (the executors get these too: session.executor_s3_env)
S3_ENV = (
    "FAIRWAY_S3_ENDPOINT",
    "FAIRWAY_S3_REGION",
    "FAIRWAY_S3_PATH_STYLE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def is_s3(path: str) -> bool:
    return path.startswith(S3_SCHEMES)


def _local(path: str) -> str:
    """``file:/x``, ``file:///x`` and ``x`` as an absolute local path."""
    if path.startswith("file:"):
        path = "/" + path[len("file:") :].lstrip("/")
    return os.path.abspath(path)


def _s3_key(path: str) -> str:
    """``s3://bucket/key/`` → ``bucket/key``, as pyarrow names objects."""
    return path.split("://", 1)[1].strip("/")


@functools.cache
def _s3(
    endpoint: str | None,
    region: str | None,
    path_style: bool,
    key_id: str | None,
    secret: str | None,
    token: str | None,
):
    from pyarrow import fs

    options: dict = {"region": region}
    if endpoint:
        url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        options.update(endpoint_override=url.netloc, scheme=url.scheme, force_virtual_addressing=not path_style)
    if key_id and secret:
        options.update(access_key=key_id, secret_key=secret, session_token=token)
    return fs.S3FileSystem(**options)


def s3_filesystem(env: Mapping[str, str] | None = None):
    """pyarrow's S3 file system, configured from ``env`` (default: this process's environment); one per
    configuration and process (a Python worker reuses it for every file of its tasks)."""
    env = os.environ if env is None else env
    value = {k: (env.get(k) or "").strip() or None for k in S3_ENV}
    path_style = (value["FAIRWAY_S3_PATH_STYLE"] or "false").lower() in ("true", "1", "yes")
    return _s3(
        value["FAIRWAY_S3_ENDPOINT"],
        value["FAIRWAY_S3_REGION"],
        path_style,
        value["AWS_ACCESS_KEY_ID"],
        value["AWS_SECRET_ACCESS_KEY"],
        value["AWS_SESSION_TOKEN"],
    )


def _reason(e: OSError, s3_missing: str | None) -> str:
    """The first line of why; ``s3_missing``: what a FileNotFoundError means on S3 (None: a local path)."""
    if s3_missing is None:
        return e.strerror or str(e)
    if isinstance(e, FileNotFoundError):
        return s3_missing
    return (str(e).splitlines() or [type(e).__name__])[0]


def list_files(path: str, env: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """(path, bytes) of the directory's files, sorted; not recursive, hidden ones (``.``/``_``) skipped as by
    Spark's file sources. Unlike them, empty files are listed: the parser reports them as rejected
    (``empty_file``). A directory that cannot be listed raises an ``unreadable_input`` JobError."""
    try:
        if is_s3(path):
            from pyarrow import fs

            prefix = path.rstrip("/")
            infos = s3_filesystem(env).get_file_info(fs.FileSelector(_s3_key(path)))
            found = [
                (f"{prefix}/{i.base_name}", i.size)
                for i in infos
                if i.type == fs.FileType.File and _visible(i.base_name)
            ]
        else:
            with os.scandir(_local(path)) as entries:
                found = [
                    (os.path.abspath(e.path), e.stat().st_size) for e in entries if e.is_file() and _visible(e.name)
                ]
    except OSError as e:
        missing = "no object under this prefix" if is_s3(path) else None
        raise JobError(f"cannot list {path}: {_reason(e, missing)}", code="unreadable_input") from None
    return sorted(found)


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def read_file(path: str, env: Mapping[str, str] | None = None) -> bytes:
    """A file's bytes; one that cannot be read raises an ``unreadable_input`` JobError."""
    try:
        if is_s3(path):
            with s3_filesystem(env).open_input_stream(_s3_key(path)) as f:
                return f.read()
        with open(_local(path), "rb") as f:
            return f.read()
    except OSError as e:
        missing = "no such object" if is_s3(path) else None
        raise JobError(f"cannot read {path}: {_reason(e, missing)}", code="unreadable_input") from None
