"""SparkSession for Fairway's Spark jobs, configured only from environment variables.

About 400 lines on purpose: the environment table below is the one contract between the TypeScript runtime,
the jobs and dbt-spark, and every setting it names is turned into Spark conf here, next to it.

The TypeScript runtime (framework/integrations/spark) sets these; dbt-spark reuses the same settings
through :func:`session_conf`, so two-part names like ``silver.fact_telemetry_event`` resolve to the
Iceberg catalog in both.

| variable | default | meaning |
|---|---|---|
| FAIRWAY_SPARK_MASTER | local[2] | Spark master; ``managed``: the one spark-submit chose (EMR Serverless) |
| FAIRWAY_SPARK_DRIVER_MEMORY | 2g | driver heap |
| FAIRWAY_SPARK_SHUFFLE_PARTITIONS | 4 | spark.sql.shuffle.partitions |
| FAIRWAY_SPARK_JARS | (none) | comma-separated absolute jar paths (Iceberg, Sedona, sqlite-jdbc, fairway-localfs) |
| FAIRWAY_SPARK_EXECUTOR_MEMORY / _CORES | 1g / (Spark's) | each executor's heap and cores (cluster masters) |
| FAIRWAY_SPARK_DYNAMIC_ALLOCATION | false | executors added and removed with the load (shuffle tracking, no shuffle service) |
| FAIRWAY_SPARK_JARS_ON_WORKERS | false | the workers have the jars at these paths on their classpath: the driver ships none |
| FAIRWAY_SPARK_DRIVER_HOST | 127.0.0.1 | the address executors reach the driver at |
| FAIRWAY_CATALOG_NAME | lakehouse | Iceberg catalog name, also the default catalog |
| FAIRWAY_CATALOG_TYPE | jdbc | jdbc (embedded: SQLite file) / rest / glue |
| FAIRWAY_CATALOG_URI | (none) | jdbc:sqlite:file:/abs/catalog.db or http://127.0.0.1:8181 |
| FAIRWAY_WAREHOUSE | (none) | file:///abs/dir or s3://bucket/prefix |
| FAIRWAY_S3_ENDPOINT / _REGION / _PATH_STYLE | | S3-compatible endpoint for S3FileIO and Bronze reads (pyarrow) |
| FAIRWAY_AWS_ENDPOINT | (none) | the Glue catalog's endpoint (an emulator such as moto); none: the region's |
| AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY | | credentials for S3FileIO and Bronze reads; none: the default chain |

Bronze objects in S3 are listed and read with pyarrow's S3 file system (silver/bronze_files.py), not Hadoop's
s3a: the executors of a cluster or managed master get the S3 variables as ``spark.executorEnv.*``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from fairway_spark.silver.bronze_files import S3_ENV

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
_HERE = Path(__file__).resolve().parent
_PACKAGE_ROOT = _HERE.parent  # the directory that holds fairway_spark/ (spark/): on the Python path


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


def is_local_master(master: str) -> bool:
    """``local``, ``local[N]``, ``local[*]``: driver and executors in one JVM on this machine."""
    return master.startswith("local")


MANAGED_MASTER = "managed"


def is_managed_master(master: str) -> bool:
    """``managed``: a managed Spark service (EMR Serverless) started the driver with its own master, driver
    host and resources; the session sets none of them."""
    return master == MANAGED_MASTER


def session_conf(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Spark settings (without the master) for Fairway's Iceberg + Sedona session; dbt-spark's
    ``server_side_parameters`` can take this dict as it is.

    In local mode the driver loads the jars itself, with the local-file-system shortcut and the class-data
    archive (both need the executors in the driver's JVM). On a cluster master (``spark://…``) neither
    applies: the executors are other JVMs, which get the jars from the driver (``spark.jars``) or, with
    ``FAIRWAY_SPARK_JARS_ON_WORKERS``, have them on their classpath already (the native stack's worker)."""
    env = os.environ if env is None else env
    local = is_local_master(spark_master(env))
    driver_host = _env(env, "FAIRWAY_SPARK_DRIVER_HOST", "127.0.0.1")
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
        "spark.driver.host": driver_host,
        "spark.driver.bindAddress": "127.0.0.1" if driver_host == "127.0.0.1" else "0.0.0.0",
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
        if others and not local and _bool(env, "FAIRWAY_SPARK_JARS_ON_WORKERS", False):
            conf["spark.driver.extraClassPath"] = ":".join(others)  # the executors have them (SPARK_DIST_CLASSPATH)
        elif others:
            conf["spark.jars"] = ",".join(others)
        localfs = [p for p in paths if os.path.basename(p) == LOCALFS_JAR]
        if localfs and local:
            # file:// without a chmod process per created file (spark/jars/src/.../NioLocalFileSystem.java).
            # Hadoop resolves fs.file.impl before Spark loads spark.jars, so it goes on the driver's classpath.
            conf["spark.driver.extraClassPath"] = localfs[0]
            conf["spark.hadoop.fs.file.impl"] = "dev.fairway.hadoop.NioLocalFileSystem"
            conf["spark.driver.extraJavaOptions"] += _class_archive_option(
                env, class_archive(os.path.dirname(localfs[0]), _env(env, "JAVA_HOME"))
            )

    if is_managed_master(spark_master(env)):
        # the service sized and placed the driver and executors: settings for a local driver would be wrong there
        for key in (
            "spark.driver.memory",
            "spark.driver.host",
            "spark.driver.bindAddress",
            "spark.driver.extraJavaOptions",
        ):
            conf.pop(key)
    elif not local:
        conf.update(executor_conf(env))
    if not local:
        # Bronze is read in the tasks through pyarrow (silver/bronze_files.py), configured from the environment:
        # executors in other processes get the driver's S3 settings (none given: their defaults, e.g. a job role)
        conf.update(executor_s3_env(env))

    prefix = f"spark.sql.catalog.{cat}"
    if cat_type == "jdbc":
        if not uri:
            raise ConfigError(
                "FAIRWAY_CATALOG_URI is required for FAIRWAY_CATALOG_TYPE=jdbc (e.g. jdbc:sqlite:file:/abs/catalog.db)"
            )
        conf[f"{prefix}.catalog-impl"] = "org.apache.iceberg.jdbc.JdbcCatalog"
        conf[f"{prefix}.uri"] = uri
        # V1 adds the view columns; without it newer Iceberg refuses views on a JDBC catalog.
        conf[f"{prefix}.jdbc.schema-version"] = "V1"
    elif cat_type == "rest":
        if not uri:
            raise ConfigError(
                "FAIRWAY_CATALOG_URI is required for FAIRWAY_CATALOG_TYPE=rest (e.g. http://127.0.0.1:8181)"
            )
        conf[f"{prefix}.type"] = "rest"
        conf[f"{prefix}.uri"] = uri
    elif cat_type == "glue":
        conf[f"{prefix}.catalog-impl"] = "org.apache.iceberg.aws.glue.GlueCatalog"
        aws_endpoint = _env(env, "FAIRWAY_AWS_ENDPOINT")
        if aws_endpoint:  # an emulator (moto) answers the Glue API
            conf[f"{prefix}.glue.endpoint"] = aws_endpoint
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
    return conf


def executor_s3_env(env: Mapping[str, str]) -> dict[str, str]:
    """The driver's S3 settings (``bronze_files.S3_ENV`` that are set) as ``spark.executorEnv.*``. The secret
    key is among them: Spark masks such values in its UI and logs (``spark.redaction.regex``); never log this."""
    return {f"spark.executorEnv.{k}": v for k in S3_ENV if (v := _env(env, k))}


def executor_conf(env: Mapping[str, str]) -> dict[str, str]:
    """Executor resources on a cluster master, from the profile (assets/lib/config.ts)."""
    memory = _env(env, "FAIRWAY_SPARK_EXECUTOR_MEMORY", "1g")
    cores = _env(env, "FAIRWAY_SPARK_EXECUTOR_CORES")
    if cores is not None and (not cores.isdigit() or int(cores) < 1):
        raise ConfigError(f"FAIRWAY_SPARK_EXECUTOR_CORES must be a positive integer, got {cores!r}")
    dynamic = _bool(env, "FAIRWAY_SPARK_DYNAMIC_ALLOCATION", False)
    conf = {
        "spark.executor.memory": memory,
        "spark.dynamicAllocation.enabled": str(dynamic).lower(),
        "spark.executorEnv.TZ": "UTC",
    }
    if cores:
        conf["spark.executor.cores"] = cores
    if dynamic:
        # no external shuffle service on the workers: executors holding shuffle data are kept while it is needed
        conf["spark.dynamicAllocation.shuffleTracking.enabled"] = "true"
    return conf


def class_archive(jars_dir: str, java_home: str | None) -> str | None:
    """The driver JVM's class-data-sharing archive: in the jars directory, named after this venv and the JVM's
    build (a hash of ``$JAVA_HOME/release``), so that a new venv or JDK gets a new one. None without JAVA_HOME.
    framework/integrations/spark writes it at bootstrap (fairway_spark.class_archive), by the same name."""
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


def prepare_local_catalog(conf: Mapping[str, str]) -> None:
    """The SQLite file's directory and a file:// warehouse must exist before Iceberg opens them."""
    for key, value in conf.items():
        if key.endswith(".uri") and value.startswith("jdbc:sqlite:"):
            path = value[len("jdbc:sqlite:") :]
            path = path[len("file:") :] if path.startswith("file:") else path
            path = path.split("?", 1)[0]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        if key.endswith(".warehouse") and value.startswith("file:"):
            Path(urlparse(value).path).mkdir(parents=True, exist_ok=True)


def spark_master(env: Mapping[str, str] | None = None) -> str:
    return _env(os.environ if env is None else env, "FAIRWAY_SPARK_MASTER", "local[2]")


class ExecutorWatch:
    """On a cluster master: when a Spark job of the application has waited ``wait_s`` seconds with no executor
    (its workers died, or are taken by other applications), cancels its Spark jobs, and keeps cancelling new ones, so the job ends
    with ``reason`` instead of waiting for resources forever. Polls from a daemon thread."""

    def __init__(self, spark, wait_s: float, poll_s: float = 1.0):
        import threading

        self._sc, self.wait_s, self.poll_s = spark.sparkContext, wait_s, poll_s
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fairway-executor-watch", daemon=True)
        self._thread.start()

    def executors(self) -> int:
        """Executors registered now (the driver's own block manager is not one)."""
        return max(0, self._sc._jsc.sc().getExecutorMemoryStatus().size() - 1)

    def _watch(self) -> None:
        last_seen = time.monotonic()
        while not self._stop.wait(self.poll_s):
            try:
                # no job waiting (driver-only work, or dynamic allocation released idle executors): nothing is owed
                if self.executors() > 0 or not self._sc.statusTracker().getActiveJobsIds():
                    last_seen = time.monotonic()
                    continue
                if time.monotonic() - last_seen < self.wait_s:
                    continue
                self.reason = (
                    f"no Spark executor for {self.wait_s:g} s on {self._sc.master}: its workers are down, or busy "
                    "with other applications. On the local stack `fairway stack status` shows them and `fairway "
                    "stack up` starts a worker that died; elsewhere see the master's web UI. "
                    "FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS sets how long a job waits."
                )
                self._sc.cancelAllJobs()
            except Exception:  # the context is stopping: nothing left to watch
                return

    def stop(self) -> None:
        self._stop.set()


def watch_executors(spark, env: Mapping[str, str] | None = None) -> ExecutorWatch | None:
    """An :class:`ExecutorWatch` for a cluster master (``FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS``, default 120; 0
    waits forever), None in local mode."""
    env = os.environ if env is None else env
    if is_local_master(spark_master(env)):
        return None
    raw = _env(env, "FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS", "120")
    try:
        wait_s = float(raw)
    except ValueError:
        raise ConfigError(f"FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS must be a number of seconds, got {raw!r}") from None
    return ExecutorWatch(spark, wait_s) if wait_s > 0 else None


def job_modules_zip() -> str:
    """The ``fairway_spark`` package as a zip (Spark ships it to every executor), in the temporary directory
    under its content's hash: written once per version of the code, never left behind per run."""
    import zipfile

    files = sorted(p for p in _HERE.rglob("*.py") if "__pycache__" not in p.parts)
    names = [p.relative_to(_PACKAGE_ROOT).as_posix() for p in files]
    digest = hashlib.sha256(b"".join(n.encode() + p.read_bytes() for n, p in zip(names, files))).hexdigest()[:16]
    target = os.path.join(tempfile.gettempdir(), f"fairway-spark-{digest}.zip")
    if not os.path.exists(target):
        partial = f"{target}.{os.getpid()}.tmp"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for name, path in zip(names, files):
                z.write(path, name)
        os.replace(partial, target)
    return target


def build_session(app_name: str = "fairway", env: Mapping[str, str] | None = None):
    """Starts (or returns the running) SparkSession with Iceberg and Sedona (through their SQL extensions).

    Returns ``(spark, startup_ms)``.
    """
    env = os.environ if env is None else env
    conf = session_conf(env)
    prepare_local_catalog(conf)
    # Spark's Python workers must run this interpreter (the venv's), not whatever python3 is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if not is_managed_master(spark_master(env)):  # on a managed service, executors must reach the driver's address
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname lookup, no "loopback address" warning
    # ... and import the fairway_spark package (silver's decoders run inside them): in local mode the workers
    # are started with the driver's environment, whoever started the driver.
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(_PACKAGE_ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(_PACKAGE_ROOT), *paths])

    started = time.perf_counter()
    from pyspark.sql import SparkSession

    master = spark_master(env)
    builder = SparkSession.builder.appName(app_name)
    if not is_managed_master(master):
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if not is_local_master(master) and not is_managed_master(master):
        # executors on other machines import the package (silver's decoders run in their tasks) from here;
        # on a managed service they come with the bundle (spark.submit.pyFiles)
        spark.sparkContext.addPyFile(job_modules_zip())
    # SedonaSqlExtensions (spark.sql.extensions) registers Sedona's functions when the session builds its
    # analyzer: this statement (analyzed, not run) does that now, so start-up includes it. An explicit
    # SedonaContext.create(spark) would register them twice and run a job: ~1 s more.
    spark.sql("SELECT 1")
    return spark, int((time.perf_counter() - started) * 1000)
