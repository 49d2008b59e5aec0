"""SparkSession for Fairway's Spark jobs, configured only from environment variables.

The TypeScript runtime (framework/integrations/spark) sets these; dbt-spark reuses the same settings
through :func:`session_conf`, so two-part names like ``silver.fact_telemetry_event`` resolve to the
Iceberg catalog in both.

| variable | default | meaning |
|---|---|---|
| FAIRWAY_SPARK_MASTER | local[2] | Spark master |
| FAIRWAY_SPARK_DRIVER_MEMORY | 2g | driver heap |
| FAIRWAY_SPARK_SHUFFLE_PARTITIONS | 4 | spark.sql.shuffle.partitions |
| FAIRWAY_SPARK_JARS | (none) | comma-separated absolute jar paths (Iceberg, Sedona, sqlite-jdbc, hadoop-aws, fairway-localfs) |
| FAIRWAY_CATALOG_NAME | lakehouse | Iceberg catalog name, also the default catalog |
| FAIRWAY_CATALOG_TYPE | jdbc | jdbc (embedded: SQLite file) / rest / glue |
| FAIRWAY_CATALOG_URI | (none) | jdbc:sqlite:file:/abs/catalog.db or http://127.0.0.1:8181 |
| FAIRWAY_WAREHOUSE | (none) | file:///abs/dir or s3://bucket/prefix |
| FAIRWAY_S3_ENDPOINT / _REGION / _PATH_STYLE | | S3-compatible endpoint for S3FileIO and s3a:// |
| AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY | | credentials for S3FileIO and s3a:// |
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

# The driver JVM runs one job of a few minutes (embedded: the whole job, in local mode). Measured on the
# 100 MB Silver benchmark (bench/README.md), its JIT compiler threads used ~73 of ~205 JVM CPU-seconds:
# HotSpot's C2 compiles every method that gets warm, including Spark's one-off generated classes. C2
# thresholds 16x the defaults keep C2 for the really hot loops: C2 CPU ~23 → ~16 s against 8x, the job
# ~2.7 s faster on average over six pairs; 32x made the tasks ~10 CPU-s slower (session 7). The parallel
# collector avoids G1's concurrent marking of the large cache (~10 CPU-s).
SHORT_JOB_JVM_OPTIONS = (
    "-XX:+UseParallelGC",
    "-XX:Tier4InvocationThreshold=80000",
    "-XX:Tier4CompileThreshold=240000",
    "-XX:Tier4BackEdgeThreshold=640000",
)
LOCALFS_JAR = "fairway-localfs.jar"  # built from spark/jars/src by framework/integrations/spark
CLASS_ARCHIVE_DUMP_ENV = "FAIRWAY_SPARK_CLASS_ARCHIVE_DUMP"
SECRET_KEYS = ("secret", "access-key", "access.key", "password")
_HERE = Path(__file__).resolve().parent


class ConfigError(ValueError):
    """Bad session environment; the message names the variable."""


def _env(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else default


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _env(env, name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def session_conf(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Spark settings (without the master) for Fairway's Iceberg + Sedona session; dbt-spark's
    ``server_side_parameters`` can take this dict as it is."""
    env = os.environ if env is None else env
    cat = _env(env, "FAIRWAY_CATALOG_NAME", "lakehouse")
    cat_type = _env(env, "FAIRWAY_CATALOG_TYPE", "jdbc")
    uri = _env(env, "FAIRWAY_CATALOG_URI")
    warehouse = _env(env, "FAIRWAY_WAREHOUSE")
    shuffle = _env(env, "FAIRWAY_SPARK_SHUFFLE_PARTITIONS", "4")
    if not shuffle.isdigit() or int(shuffle) < 1:
        raise ConfigError(f"FAIRWAY_SPARK_SHUFFLE_PARTITIONS must be a positive integer, got {shuffle!r}")

    conf: dict[str, str] = {
        "spark.driver.memory": _env(env, "FAIRWAY_SPARK_DRIVER_MEMORY", "2g"),
        "spark.sql.shuffle.partitions": shuffle,
        "spark.default.parallelism": shuffle,
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": " ".join(
            [
                f"-Duser.timezone=UTC -Dlog4j2.configurationFile={_HERE / 'log4j2.properties'}",
                "-DSCARF_NO_ANALYTICS=true",  # Sedona reports each session start to a usage tracker otherwise
                *SHORT_JOB_JVM_OPTIONS,
            ]
        ),
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        # fast, quiet local start-up
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.adaptive.enabled": "true",
        # cached DataFrames stay uncompressed: compressing the Silver job's wide cache cost ~20 CPU-s of
        # 235 on the 100 MB benchmark (bench/README.md), and the cache lives only for one job
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.kryo.registrator": "org.apache.sedona.core.serde.SedonaKryoRegistrator",
        "spark.sql.extensions": ",".join(
            [
                "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
                "org.apache.sedona.sql.SedonaSqlExtensions",
            ]
        ),
        # Iceberg catalog that also answers two-part names (dbt-spark has no catalog part)
        f"spark.sql.catalog.{cat}": "org.apache.iceberg.spark.SparkCatalog",
        f"spark.sql.catalog.{cat}.cache-enabled": "false",  # other processes commit too
        "spark.sql.defaultCatalog": cat,
    }
    jars = _env(env, "FAIRWAY_SPARK_JARS")
    if jars:
        paths = [j.strip() for j in jars.split(",") if j.strip()]
        missing = [p for p in paths if not os.path.isabs(p) or not os.path.exists(p)]
        if missing:
            raise ConfigError(f"FAIRWAY_SPARK_JARS lists jars that do not exist (absolute paths needed): {missing[:3]}")
        others = [p for p in paths if os.path.basename(p) != LOCALFS_JAR]
        if others:
            conf["spark.jars"] = ",".join(others)
        localfs = [p for p in paths if os.path.basename(p) == LOCALFS_JAR]
        if localfs:
            # file:// without a chmod process per created file (spark/jars/src/.../NioLocalFileSystem.java).
            # Hadoop resolves fs.file.impl before Spark loads spark.jars, so it goes on the driver's classpath.
            conf["spark.driver.extraClassPath"] = localfs[0]
            conf["spark.hadoop.fs.file.impl"] = "dev.fairway.hadoop.NioLocalFileSystem"
            conf["spark.driver.extraJavaOptions"] += _class_archive_option(
                env, class_archive(os.path.dirname(localfs[0]), _env(env, "JAVA_HOME"))
            )

    prefix = f"spark.sql.catalog.{cat}"
    if cat_type == "jdbc":
        if not uri:
            raise ConfigError("FAIRWAY_CATALOG_URI is required for FAIRWAY_CATALOG_TYPE=jdbc (e.g. jdbc:sqlite:file:/abs/catalog.db)")
        conf[f"{prefix}.catalog-impl"] = "org.apache.iceberg.jdbc.JdbcCatalog"
        conf[f"{prefix}.uri"] = uri
        # V1 adds the view columns; without it newer Iceberg refuses views on a JDBC catalog.
        conf[f"{prefix}.jdbc.schema-version"] = "V1"
    elif cat_type == "rest":
        if not uri:
            raise ConfigError("FAIRWAY_CATALOG_URI is required for FAIRWAY_CATALOG_TYPE=rest (e.g. http://127.0.0.1:8181)")
        conf[f"{prefix}.type"] = "rest"
        conf[f"{prefix}.uri"] = uri
    elif cat_type == "glue":
        conf[f"{prefix}.catalog-impl"] = "org.apache.iceberg.aws.glue.GlueCatalog"
    else:
        raise ConfigError(f"FAIRWAY_CATALOG_TYPE must be jdbc, rest or glue, got {cat_type!r}")
    if warehouse:
        conf[f"{prefix}.warehouse"] = warehouse
    # Spark's own session catalog is unused, but it creates ./spark-warehouse in the cwd unless told where.
    local = urlparse(warehouse).path if (warehouse or "").startswith("file:") else tempfile.gettempdir()
    conf["spark.sql.warehouse.dir"] = f"file://{os.path.join(local, '_spark_session_catalog')}"

    endpoint = _env(env, "FAIRWAY_S3_ENDPOINT")
    region = _env(env, "FAIRWAY_S3_REGION")
    path_style = _bool(env, "FAIRWAY_S3_PATH_STYLE", False)
    key_id = _env(env, "AWS_ACCESS_KEY_ID")
    secret = _env(env, "AWS_SECRET_ACCESS_KEY")
    if (warehouse or "").startswith("s3://") or cat_type == "glue":
        conf[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
        if endpoint:
            conf[f"{prefix}.s3.endpoint"] = endpoint
        conf[f"{prefix}.s3.path-style-access"] = str(path_style).lower()
        if region:
            conf[f"{prefix}.client.region"] = region
        if key_id and secret:
            conf[f"{prefix}.s3.access-key-id"] = key_id
            conf[f"{prefix}.s3.secret-access-key"] = secret
    # s3a:// for Bronze reads (hadoop-aws)
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https")).lower()
    if region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = region
    conf["spark.hadoop.fs.s3a.path.style.access"] = str(path_style).lower()
    if key_id and secret:
        conf["spark.hadoop.fs.s3a.access.key"] = key_id
        conf["spark.hadoop.fs.s3a.secret.key"] = secret
        conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
    return conf


def class_archive(jars_dir: str, java_home: str | None) -> str | None:
    """The driver JVM's class-data-sharing archive: in the jars directory, named after this venv and the JVM's
    build (a hash of ``$JAVA_HOME/release``), so that a new venv or JDK gets a new one. None without JAVA_HOME.
    framework/integrations/spark writes it at bootstrap (spark/class_archive.py), by the same name."""
    try:
        build = hashlib.sha256(Path(java_home, "release").read_bytes()).hexdigest()[:8] if java_home else None
    except OSError:
        build = None
    return os.path.join(jars_dir, f"driver-{Path(sys.prefix).name}-{build}.jsa") if build else None


def _class_archive_option(env: Mapping[str, str], archive: str | None) -> str:
    """Loads Spark's classes from the archive when it exists: the driver starts ~2–4 s sooner (bench/README.md,
    session 6). With ``FAIRWAY_SPARK_CLASS_ARCHIVE_DUMP`` set, the JVM writes a new archive there at exit."""
    dump = _env(env, CLASS_ARCHIVE_DUMP_ENV)
    if dump:
        return f" -XX:ArchiveClassesAtExit={dump} -Xlog:cds*=error"  # not ~3,000 "skipping class" warnings
    return f" -XX:SharedArchiveFile={archive}" if archive and os.path.exists(archive) else ""


def redacted(conf: Mapping[str, str]) -> dict[str, str]:
    """The conf with secrets masked, for logs."""
    return {k: ("***" if any(s in k.lower() for s in SECRET_KEYS) else v) for k, v in conf.items()}


def _prepare_local_catalog(conf: Mapping[str, str]) -> None:
    """The SQLite file's directory and a file:// warehouse must exist before Iceberg opens them."""
    for key, value in conf.items():
        if key.endswith(".uri") and value.startswith("jdbc:sqlite:"):
            path = value[len("jdbc:sqlite:"):]
            path = path[len("file:"):] if path.startswith("file:") else path
            path = path.split("?", 1)[0]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        if key.endswith(".warehouse") and value.startswith("file:"):
            Path(urlparse(value).path).mkdir(parents=True, exist_ok=True)


def spark_master(env: Mapping[str, str] | None = None) -> str:
    return _env(os.environ if env is None else env, "FAIRWAY_SPARK_MASTER", "local[2]")


def build_session(app_name: str = "fairway", env: Mapping[str, str] | None = None):
    """Starts (or returns the running) SparkSession with Iceberg and Sedona (through their SQL extensions).

    Returns ``(spark, startup_ms)``.
    """
    env = os.environ if env is None else env
    conf = session_conf(env)
    _prepare_local_catalog(conf)
    # Spark's Python workers must run this interpreter (the venv's), not whatever python3 is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname lookup, no "loopback address" warning
    # ... and import spark/ modules (silver.parse runs inside them).
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(_HERE) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(_HERE), *paths])

    started = time.perf_counter()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).master(spark_master(env))
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # SedonaSqlExtensions (spark.sql.extensions) registers Sedona's functions when the session builds its
    # analyzer: this statement (analyzed, not run) does that now, so start-up includes it. An explicit
    # SedonaContext.create(spark) would register them twice and run a job: ~1 s more.
    spark.sql("SELECT 1")
    return spark, int((time.perf_counter() - started) * 1000)
