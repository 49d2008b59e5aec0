"""Cleans one store's orders and reports through Fairway's pipes protocol (example)."""

import csv
import os
import signal
import sys
import time

from fairway_pipes import md_int, md_row_count, open_pipes


def linger_on_sigterm(seconds: float) -> None:
    """Tests: outlive a SIGTERM for a while, as a Spark JVM does while it shuts down."""

    def linger(_signum, _frame):
        time.sleep(seconds)
        sys.exit(143)

    signal.signal(signal.SIGTERM, linger)


def main(src: str, dst: str) -> None:
    if os.environ.get("HELLO_PY_TERM_GRACE_S"):
        linger_on_sigterm(float(os.environ["HELLO_PY_TERM_GRACE_S"]))
    with open_pipes() as pipes:
        time.sleep(float(os.environ.get("HELLO_PY_SLOW_S", "0")))  # tests: a step still running
        with open(src, newline="") as f:
            rows = list(csv.DictReader(f))
        bad = [r for r in rows if float(r["amount"]) <= 0]
        good = [r for r in rows if float(r["amount"]) > 0]
        with open(dst, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["store", "order", "amount"])
            w.writeheader()
            w.writerows(good)
        pipes.log("info", "cleaned orders", rows=len(rows))
        print(f"cleaned {len(rows)} rows from {src}")
        pipes.report_check("amounts_positive", passed=not bad, severity="error", failures=len(bad))
        pipes.report_materialization(metadata={"row_count": md_row_count(len(good)), "rejected": md_int(len(bad))})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
