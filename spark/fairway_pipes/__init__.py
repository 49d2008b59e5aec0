"""fairway_pipes: the Python side of Fairway's subprocess message protocol (stdlib only).

The orchestrator sets ``FAIRWAY_PIPES_MESSAGES`` to a file path; every message is appended to it as
one JSON object per line and flushed. ``FAIRWAY_PIPES_CONTEXT`` holds the run context as JSON. When a
script is run by hand (neither variable set) messages go to stderr as ``FAIRWAY_PIPES {json}`` lines
and the context is empty.

    with open_pipes() as pipes:
        pipes.log("info", "reading", files=3)
        pipes.report_materialization(data_version="123", metadata={"rows": md_row_count(10)})

A job launched on a managed Spark service (EMR Serverless) gets an ``s3://bucket/prefix/`` there instead of a
path: its messages go to numbered chunk objects under that prefix (``fairway_pipes.s3``), which Fairway reads
while it polls the job.

``report_materialization``, ``report_check`` and ``report_error`` take an optional ``partition_key``: a job
that writes several partitions in one run reports each partition's result (or failure) with its key, as a
top-level ``"partition_key"`` field of the message. Without it a message is about the whole run.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MESSAGES_ENV = "FAIRWAY_PIPES_MESSAGES"
CONTEXT_ENV = "FAIRWAY_PIPES_CONTEXT"
STDERR_PREFIX = "FAIRWAY_PIPES "

LOG_LEVELS = ("debug", "info", "warn", "error")
SEVERITIES = ("warn", "error")


# ---- metadata helpers: each returns {"type": ..., "value": ...} -------------------------------


def md_int(value: int) -> dict:
    return {"type": "int", "value": int(value)}


def md_float(value: float) -> dict:
    return {"type": "float", "value": float(value)}


def md_text(value: str) -> dict:
    return {"type": "text", "value": str(value)}


def md_json(value: Any) -> dict:
    return {"type": "json", "value": value}


def md_row_count(value: int) -> dict:
    return {"type": "row_count", "value": int(value)}


def md_path(value: str) -> dict:
    return {"type": "path", "value": str(value)}


def md_url(value: str) -> dict:
    return {"type": "url", "value": str(value)}


def md_markdown(value: str) -> dict:
    return {"type": "markdown", "value": str(value)}


def md_table_schema(columns: Iterable[Mapping[str, Any]]) -> dict:
    """``columns``: dicts with ``name``, ``type`` and optional ``nullable``."""
    value = []
    for c in columns:
        col = {"name": str(c["name"]), "type": str(c["type"])}
        if c.get("nullable") is not None:
            col["nullable"] = bool(c["nullable"])
        value.append(col)
    return {"type": "table_schema", "value": value}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_safe(value: Any) -> Any:
    """JSON has no NaN/Infinity (the orchestrator's JSON.parse rejects them): they become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class Pipes:
    """Writes protocol messages; use :func:`open_pipes` to create one."""

    def __init__(self, context: dict, messages_path: str | None):
        self.context = context
        self.messages_path = messages_path
        self._lock = threading.Lock()
        self._file = None
        if messages_path and messages_path.startswith("s3://"):
            from fairway_pipes.s3 import S3ChunkWriter  # boto3, only for a job run away from the orchestrator

            self._file = S3ChunkWriter(messages_path)
        elif messages_path:
            self._file = open(messages_path, "a", encoding="utf-8")

    # -- context shortcuts
    @property
    def run_id(self) -> str | None:
        return self.context.get("run_id")

    @property
    def partition(self) -> dict:
        return self.context.get("partition") or {}

    @property
    def extras(self) -> dict:
        return self.context.get("extras") or {}

    # -- messages
    def _write(self, message: dict, partition_key: str | None = None) -> None:
        """``partition_key``: the partition of a multi-partition run the message is about (top-level field)."""
        if partition_key is not None:
            message["partition_key"] = str(partition_key)
        message = {"type": message.pop("type"), "ts": _now(), **message}
        line = json.dumps(_json_safe(message), allow_nan=False, separators=(",", ":"))
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
            else:
                sys.stderr.write(STDERR_PREFIX + line + "\n")
                sys.stderr.flush()

    def log(self, level: str, message: str, **fields: Any) -> None:
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {LOG_LEVELS}, got {level!r}")
        msg: dict = {"type": "log", "level": level, "message": str(message)}
        if fields:
            msg["fields"] = fields
        self._write(msg)

    def report_materialization(
        self,
        data_version: str | None = None,
        metadata: Mapping[str, dict] | None = None,
        partition_key: str | None = None,
    ) -> None:
        msg: dict = {"type": "materialization", "metadata": dict(metadata or {})}
        if data_version is not None:
            msg["data_version"] = str(data_version)
        self._write(msg, partition_key)

    def report_check(
        self,
        name: str,
        passed: bool,
        severity: str = "error",
        failures: int | None = None,
        description: str | None = None,
        metadata: Mapping[str, dict] | None = None,
        partition_key: str | None = None,
    ) -> None:
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        msg: dict = {"type": "check", "name": name, "passed": bool(passed), "severity": severity}
        if failures is not None:
            msg["failures"] = int(failures)
        if description is not None:
            msg["description"] = description
        if metadata:
            msg["metadata"] = dict(metadata)
        self._write(msg, partition_key)

    def report_error(
        self,
        message: str,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
    ) -> None:
        msg: dict = {"type": "error", "message": str(message)}
        if code is not None:
            msg["code"] = code
        if details:
            msg["details"] = dict(details)
        self._write(msg, partition_key)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # -- context manager: an uncaught exception is reported, then re-raised
    def __enter__(self) -> Pipes:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc is not None and not isinstance(exc, (SystemExit, KeyboardInterrupt)):
                code = getattr(exc, "code", None)
                self.report_error(
                    f"{exc_type.__name__}: {exc}", code=code if isinstance(code, str) else "uncaught_exception"
                )
        finally:
            self.close()
        return False


def read_context(environ: Mapping[str, str] | None = None) -> dict:
    """The run context: JSON in ``FAIRWAY_PIPES_CONTEXT``, or in the S3 object it names (a remote job: a Spark
    property holds at most 1,024 characters, the context of a big batch more)."""
    raw = (environ if environ is not None else os.environ).get(CONTEXT_ENV)
    if not raw:
        return {}
    if raw.startswith("s3://"):
        from fairway_pipes.s3 import read_text

        raw = read_text(raw, environ)
    try:
        ctx = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{CONTEXT_ENV} is not valid JSON: {e}") from None
    if not isinstance(ctx, dict):
        raise ValueError(f"{CONTEXT_ENV} must be a JSON object")
    return ctx


def open_pipes(environ: Mapping[str, str] | None = None) -> Pipes:
    """Opens the channel named by the environment (stderr when run by hand)."""
    env = environ if environ is not None else os.environ
    return Pipes(read_context(env), env.get(MESSAGES_ENV) or None)
