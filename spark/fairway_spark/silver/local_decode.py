"""Local Bronze partitions decoded in the driver, on a thread, while the Spark session starts.

In Spark local mode the driver and the executors are one process on one machine, so a partition on the
local disk need not be decoded inside a Spark task. The driver decodes the files of every local partition
of the run (``silver.parse``, the same decoder the tasks use for remote paths) into one uncompressed
Parquet file of records in a temporary directory, each record tagged with its partition's ``part_idx``,
while the JVM is still starting; Spark then reads that file in several splits (one task per core) instead
of decoding a big file in one task. On the 100 MB benchmark the job took ~3 s less on average over five
paired runs (bench/README.md, session 6). The file needs temporary space (``$TMPDIR``) of about 4x the
partitions' CSV bytes while the job runs.

A partition whose directory cannot be listed, or one of whose files cannot be read, is recorded in
``list_errors`` / ``read_errors`` and the others are decoded: the job fails that partition only (records
of its files decoded before the error stay in the file; the job does not write them).

Remote partitions (``s3://``) and cluster masters keep the task-side decoding of
``transform.read_partitions``: there the driver's temporary directory is not where the executors are. Both list
and read with silver/bronze_files.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading

import pyarrow.parquet as pq

from fairway_spark.silver.bronze_files import list_files, read_file
from fairway_spark.silver.errors import JobError
from fairway_spark.silver.manifest import Partition, is_uri
from fairway_spark.silver.parse import parse_file
from fairway_spark.silver.records import TAGGED_SCHEMA, tagged


def applies(path: str, master: str) -> bool:
    """Whether ``path`` is decoded in the driver: a local directory and a local Spark master."""
    return not is_uri(path) and master.startswith("local")


class LocalDecode:
    """Decodes ``files`` (per ``part_idx``) into ``<tmp>/records.parquet`` on a background thread;
    ``parquet_dir()`` waits for it."""

    def __init__(self, files: dict[int, list[tuple[str, int]]], list_errors: dict[int, str] | None = None):
        self.files = files
        self.list_errors = list_errors or {}
        self.read_errors: dict[int, str] = {}  # complete once parquet_dir() has returned
        remove_abandoned_dirs()
        self._dir = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._decode, name="fairway-local-decode", daemon=True)
        self._thread.start()

    def covers(self, part_idx: int) -> bool:
        """Whether the partition is a local one (listed here, or failed to list)."""
        return part_idx in self.files or part_idx in self.list_errors

    def _decode(self) -> None:
        try:
            # Read back once, straight away: no compression, dictionaries or statistics to compute.
            with pq.ParquetWriter(
                os.path.join(self._dir, "records.parquet"),
                TAGGED_SCHEMA,
                compression="none",
                use_dictionary=False,
                write_statistics=False,
            ) as writer:
                for part_idx, files in self.files.items():
                    if self._cancelled:
                        return
                    try:
                        self._decode_partition(writer, part_idx, files)
                    except JobError as e:
                        self.read_errors[part_idx] = str(e)
        except BaseException as e:  # handed to the caller by parquet_dir()
            self._error = e

    def _decode_partition(self, writer: pq.ParquetWriter, part_idx: int, files: list[tuple[str, int]]) -> None:
        for path, _ in files:
            for batch in parse_file(path, read_file(path)):  # one row group per batch: the read splits between them
                if self._cancelled:
                    return
                writer.write_batch(tagged(batch, part_idx))

    def parquet_dir(self) -> str:
        """The directory of the decoded records, once decoding has finished; re-raises an unexpected error."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._dir

    def close(self) -> None:
        self._cancelled = True
        self._thread.join()
        shutil.rmtree(self._dir, ignore_errors=True)


TEMP_PREFIX = "fairway-silver-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned_dirs(parent: str | None = None) -> list[str]:
    """Removes decode directories left by jobs that were killed (SIGKILL skips their clean-up): those named
    after a process that no longer runs. Returns the directories removed."""
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        entries = os.listdir(parent)
    except OSError:
        return removed
    for name in entries:
        pid = name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not name.startswith(TEMP_PREFIX) or not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        removed.append(name)
    return removed


@contextlib.contextmanager
def decoding(partitions: list[Partition], master: str):
    """A running ``LocalDecode`` of the run's partitions that it ``applies`` to, else None; cleaned up on exit."""
    local = {i: p.bronze_path for i, p in enumerate(partitions) if applies(p.bronze_path, master)}
    if not local:
        yield None
        return
    files, errors = {}, {}
    for i, path in local.items():
        try:
            files[i] = list_files(path)
        except JobError as e:
            errors[i] = str(e)
    decode = LocalDecode(files, errors)
    try:
        yield decode
    finally:
        decode.close()
