"""Shared fixtures: ONE local SparkSession for all tests, on a temp warehouse + SQLite catalog.

Needs the runtime that framework/integrations/spark bootstraps: run pytest with the venv's python
and FAIRWAY_SPARK_JARS set (see spark/README.md). Without jars the Spark tests fail loudly instead
of being skipped.
"""

import json
import os
import sys
from pathlib import Path

import pytest

SPARK_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SPARK_DIR.parent
SHARED = REPO_ROOT.parent / "shared"
SAMPLE_DIR = SHARED / "data" / "sample"


@pytest.fixture(scope="session")
def manifest():
    path = SAMPLE_DIR / "manifest.json"
    assert path.exists(), f"sample manifest not found at {path}"
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def lakehouse_env(tmp_path_factory):
    """Environment of the embedded profile (also handed to the subprocess test)."""
    if not os.environ.get("FAIRWAY_SPARK_JARS"):
        pytest.fail("FAIRWAY_SPARK_JARS is not set: bootstrap the runtime first (see spark/README.md)")
    root = tmp_path_factory.mktemp("lakehouse")
    env = {
        "FAIRWAY_CATALOG_NAME": "lakehouse",
        "FAIRWAY_CATALOG_TYPE": "jdbc",
        "FAIRWAY_CATALOG_URI": f"jdbc:sqlite:file:{root}/catalog.db",
        "FAIRWAY_WAREHOUSE": f"file://{root}/warehouse",
        "FAIRWAY_SPARK_SHUFFLE_PARTITIONS": "2",
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def spark(lakehouse_env):
    from fairway_spark.session import build_session

    spark, startup_ms = build_session("fairway-tests")
    print(f"\nspark session start-up: {startup_ms} ms", file=sys.stderr)
    yield spark
    spark.stop()


# PySpark turns timestamps into naive datetimes in the process's local zone: make that UTC.
os.environ["TZ"] = "UTC"
__import__("time").tzset()
