"""Prints the Spark settings dbt-spark (method: session) must use, as one JSON object on stdout.

    python -m fairway_spark.dbt_profile      (with spark/ on PYTHONPATH)

Same environment variables as session.py: the settings are ``session_conf()`` plus the master, so
dbt's session resolves ``silver.fact_telemetry_event`` in the same Iceberg catalog as the Silver job.
Fairway writes them into ``<state>/dbt/profiles.yml`` (server_side_parameters). Exit 2 on bad config.
"""

from __future__ import annotations

import json
import sys

from fairway_spark.session import ConfigError, prepare_local_catalog, session_conf, spark_master


def main() -> int:
    try:
        conf = session_conf()
    except ConfigError as e:
        print(f"dbt_profile: error: {e}", file=sys.stderr)
        return 2
    prepare_local_catalog(conf)
    conf["spark.master"] = spark_master()
    # dbt-spark calls enableHiveSupport(); Fairway's tables live in the Iceberg catalog, and an
    # in-memory session catalog keeps Derby's metastore_db/ out of the working directory.
    conf["spark.sql.catalogImplementation"] = "in-memory"
    json.dump(conf, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
