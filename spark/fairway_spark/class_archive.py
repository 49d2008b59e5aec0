"""Writes the Spark driver JVM's class-data-sharing archive (run by framework/integrations/spark at bootstrap).

    python -m fairway_spark.class_archive ARCHIVE      (with spark/ on PYTHONPATH)

Runs the Silver job once, on a small generated partition in a throwaway catalog, in a JVM started with
``-XX:ArchiveClassesAtExit``; then stops the JVM the way PySpark does on exit (its stdin closes) and
waits for it to write the archive, which is moved to ARCHIVE. Later drivers started by ``session.py``
map the classes from it instead of loading, parsing and verifying them one by one from ~260 jars.
Needs ``FAIRWAY_SPARK_JARS`` (with fairway-localfs.jar) and Java 17. Exit code 0 when ARCHIVE was written.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from fairway_spark.session import CLASS_ARCHIVE_DUMP_ENV, build_session

ROUNDS, SLOTS = 40, 12
JVM_EXIT_TIMEOUT_S = 300


def write_partition(directory: str) -> None:
    """A CSV export of ROUNDS rounds with SLOTS fixes each, over two days (two table partitions)."""
    fields = [
        "hole",
        "sectionNumber",
        "startTime",
        "fixCoordinates[0]",
        "fixCoordinates[1]",
        "batteryPercentage",
        "isCache",
    ]
    header = ["_id", "course", "startTime", "endTime"] + [f"locations[{n}].{f}" for n in range(SLOTS) for f in fields]
    lines = [",".join(header)]
    for r in range(ROUNDS):
        day = 1 + r % 2
        cells = [
            f"r{r:04d}",
            "archive",
            f"2025-06-0{day}T{8 + r % 8:02d}:00:00.000Z",
            f"2025-06-0{day}T{12 + r % 8:02d}:00:00.000Z",
        ]
        for n in range(SLOTS):
            cells += [
                str(1 + n % 9),
                str(1 + n),
                str(60 * n),
                f"{-88.34 + n * 1e-4:.6f}",
                f"{43.24 + r * 1e-4:.6f}",
                "80",
                str(n % 2 == 0).lower(),
            ]
        lines.append(",".join(cells))
    os.makedirs(directory)
    with open(os.path.join(directory, "archive.rounds.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m fairway_spark.class_archive ARCHIVE", file=sys.stderr)
        return 2
    archive = os.path.abspath(argv[0])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fairway-class-archive-") as tmp:
        dump = f"{archive}.partial-{os.getpid()}"  # beside the archive: moved into place in one rename
        os.environ.update(
            {
                CLASS_ARCHIVE_DUMP_ENV: dump,
                "FAIRWAY_CATALOG_TYPE": "jdbc",
                "FAIRWAY_CATALOG_URI": f"jdbc:sqlite:file:{tmp}/catalog.db",
                "FAIRWAY_WAREHOUSE": f"file://{tmp}/warehouse",
            }
        )
        bronze = os.path.join(tmp, "bronze")
        write_partition(bronze)

        from fairway_spark import silver_job

        spark, _ = build_session("fairway-class-archive")
        jvm = spark.sparkContext._gateway.proc  # the spark-submit JVM that PySpark launched
        try:
            silver_job.run(
                silver_job.parse_args(
                    ["--bronze-path", bronze, "--course-id", "archive", "--ingest-date", "2025-06-02"]
                ),
                spark,
            )
            spark.stop()
            jvm.stdin.close()  # PythonGatewayServer calls System.exit on EOF; the archive is written on the way out
            code = jvm.wait(timeout=JVM_EXIT_TIMEOUT_S)
            if code != 0 or not os.path.exists(dump):
                print(f"class_archive: the JVM exited with {code} without writing {dump}", file=sys.stderr)
                return 1
            os.replace(dump, archive)
        finally:
            if os.path.exists(dump):  # a failed or partial dump: no ~180 MB leftover in the cache
                os.remove(dump)
    print(
        f"class_archive: wrote {archive} ({os.path.getsize(archive) >> 20} MB) in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
