"""The pipes channel of a job that runs away from the orchestrator (EMR Serverless): messages to S3.

A job started by a managed Spark service shares no file system with Fairway, so ``FAIRWAY_PIPES_MESSAGES``
names an S3 prefix (``s3://bucket/jobs/<run>/<step>/<attempt>/messages/``) instead of a file. S3 objects
cannot be appended to: the lines are written as numbered chunk objects ``000000.jsonl``, ``000001.jsonl``, …,
a new one at most every ``FLUSH_SECONDS`` while messages come and one at ``close()``. Fairway lists the
prefix while it polls the job (assets/lib/aws/s3-pipes-reader.ts) and reads each new chunk once, so row
counts, checks and data versions arrive as they do from the local file.

boto3 is imported here only, on first use: the local channel (``fairway_pipes``) stays stdlib-only. Fairway's
venv pins it (spark/requirements.txt); on EMR Serverless it comes with the job's Python environment.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlparse

FLUSH_SECONDS = 2.0
CHUNK_DIGITS = 6


def chunk_key(prefix: str, seq: int) -> str:
    """The object key of chunk ``seq``: zero-padded so that S3's lexicographic listing is the write order."""
    return f"{prefix}{seq:0{CHUNK_DIGITS}d}.jsonl"


def _client(env: Mapping[str, str]):
    import boto3
    from botocore.config import Config

    endpoint = (env.get("FAIRWAY_S3_ENDPOINT") or "").strip() or None
    path_style = (env.get("FAIRWAY_S3_PATH_STYLE") or "false").strip().lower() == "true"
    region = (env.get("FAIRWAY_S3_REGION") or env.get("AWS_REGION") or "").strip() or None
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(s3={"addressing_style": "path" if path_style else "auto"}, retries={"max_attempts": 5}),
    )


def read_text(uri: str, env: Mapping[str, str] | None = None) -> str:
    """One object's text (a remote job's manifest), through the same client as the messages."""
    parsed = urlparse(uri)
    body = _client(os.environ if env is None else env).get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
    return body["Body"].read().decode("utf-8")


class S3ChunkWriter:
    """A file-like sink for :class:`fairway_pipes.Pipes`: buffers the text written and puts it as chunk objects under
    ``uri`` (``s3://bucket/prefix/``). ``flush()`` (after each message) puts a chunk only when the last one is
    ``flush_seconds`` old, so a chatty job makes a few requests, not one per line; a daemon thread puts what waits
    every ``flush_seconds`` (a message before a long Spark stage is not held back); ``close()`` puts the rest."""

    def __init__(
        self, uri: str, env: Mapping[str, str] | None = None, flush_seconds: float = FLUSH_SECONDS, client=None
    ):
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"pipes messages URI must be s3://bucket/prefix/, got {uri!r}")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self.flush_seconds = flush_seconds
        self._client = client or _client(os.environ if env is None else env)
        self._buffer: list[str] = []
        self._seq = 0
        self._last_put = time.monotonic()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="fairway-pipes-s3", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._closed.wait(self.flush_seconds):
            self.flush()

    def write(self, text: str) -> None:
        with self._lock:
            self._buffer.append(text)

    def flush(self) -> None:
        with self._lock:
            if time.monotonic() - self._last_put >= self.flush_seconds:
                self._put_locked()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._put_locked()

    def _put_locked(self) -> None:
        self._last_put = time.monotonic()
        if not self._buffer:
            return
        body = "".join(self._buffer).encode("utf-8")
        self._client.put_object(
            Bucket=self.bucket, Key=chunk_key(self.prefix, self._seq), Body=body, ContentType="application/x-ndjson"
        )
        self._seq += 1
        self._buffer = []
