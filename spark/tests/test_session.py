"""The session: Fairway's file:// file system (no chmod process per file, no .crc) and the driver's class archive."""

import os
import stat


def test_local_files_get_their_permissions_in_process_and_no_checksum_sidecars(spark, tmp_path):
    jvm = spark._jvm
    hadoop_fs = jvm.org.apache.hadoop.fs
    fs = hadoop_fs.FileSystem.get(jvm.java.net.URI("file:///"), spark._jsc.hadoopConfiguration())
    assert fs.getClass().getName() == "dev.fairway.hadoop.NioLocalFileSystem"

    directory = hadoop_fs.Path(f"file://{tmp_path}/a/b")
    assert fs.mkdirs(directory, hadoop_fs.permission.FsPermission("750"))
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b").st_mode) == 0o750 & ~_umask()

    path = hadoop_fs.Path(f"file://{tmp_path}/a/b/data.bin")
    out = fs.create(path, True)
    out.write(bytearray(b"fairway"))
    out.close()
    fs.setPermission(path, hadoop_fs.permission.FsPermission("640"))
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b" / "data.bin").st_mode) == 0o640
    assert (tmp_path / "a" / "b" / "data.bin").read_bytes() == b"fairway"
    assert sorted(os.listdir(tmp_path / "a" / "b")) == ["data.bin"]  # no .data.bin.crc


def test_iceberg_tables_in_a_local_warehouse_have_no_checksum_sidecars(spark):
    catalog = spark.conf.get("spark.sql.defaultCatalog")
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {catalog}.fs_test")
    spark.sql(f"DROP TABLE IF EXISTS {catalog}.fs_test.t")
    spark.range(10).selectExpr("id", "id % 3 AS part").writeTo(f"{catalog}.fs_test.t").partitionedBy("part").create()
    location = (
        spark.sql(f"DESCRIBE TABLE EXTENDED {catalog}.fs_test.t").where("col_name = 'Location'").first().data_type
    )
    files = [os.path.join(d, f) for d, _, names in os.walk(location.removeprefix("file:")) for f in names]
    assert sum(f.endswith(".parquet") for f in files) == 3
    assert not [f for f in files if f.endswith(".crc")]
    assert spark.table(f"{catalog}.fs_test.t").count() == 10


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_driver_uses_the_class_archive_beside_the_jars_when_there_is_one(tmp_path):
    from fairway_spark.session import CLASS_ARCHIVE_DUMP_ENV, class_archive, session_conf

    jar = tmp_path / "fairway-localfs.jar"
    jar.write_bytes(b"")
    java_home = tmp_path / "jdk"
    java_home.mkdir()
    (java_home / "release").write_text('JAVA_RUNTIME_VERSION="17.0.15+6"\n')
    env = {
        "FAIRWAY_SPARK_JARS": str(jar),
        "FAIRWAY_CATALOG_URI": "jdbc:sqlite:file:/tmp/c.db",
        "JAVA_HOME": str(java_home),
    }
    archive = class_archive(str(tmp_path), str(java_home))
    assert os.path.dirname(archive) == str(tmp_path) and archive.endswith(".jsa")

    assert "SharedArchiveFile" not in session_conf(env)["spark.driver.extraJavaOptions"]  # none written yet
    open(archive, "wb").close()
    assert f"-XX:SharedArchiveFile={archive}" in session_conf(env)["spark.driver.extraJavaOptions"].split()
    dumping = session_conf({**env, CLASS_ARCHIVE_DUMP_ENV: str(tmp_path / "new.jsa")})[
        "spark.driver.extraJavaOptions"
    ].split()
    assert f"-XX:ArchiveClassesAtExit={tmp_path / 'new.jsa'}" in dumping and not any(
        "SharedArchiveFile" in o for o in dumping
    )

    (java_home / "release").write_text('JAVA_RUNTIME_VERSION="17.0.16+8"\n')  # a JDK update: a new archive name
    assert class_archive(str(tmp_path), str(java_home)) != archive
    assert class_archive(str(tmp_path), None) is None and class_archive(str(tmp_path), str(tmp_path / "nojdk")) is None


def test_the_running_driver_mapped_its_classes_from_the_archive(spark):
    from fairway_spark.session import class_archive

    jars = [j for j in os.environ["FAIRWAY_SPARK_JARS"].split(",") if j.endswith("fairway-localfs.jar")]
    archive = class_archive(os.path.dirname(jars[0]), os.environ["JAVA_HOME"])
    assert os.path.exists(archive), "bootstrap (scripts/pytest.ts) writes it"
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert f"-XX:SharedArchiveFile={archive}" in list(runtime.getInputArguments())
    hotspot = spark._jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        spark._jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    assert hotspot.getVMOption("UseSharedSpaces").getValue() == "true"


def _jars(tmp_path):
    paths = []
    for name in ("fairway-localfs.jar", "iceberg-spark-runtime.jar", "sedona.jar"):
        (tmp_path / name).write_bytes(b"")
        paths.append(str(tmp_path / name))
    return ",".join(paths)


def test_on_a_cluster_master_the_local_mode_shortcuts_are_off_and_executors_get_their_resources(tmp_path):
    from fairway_spark.session import session_conf

    base = {"FAIRWAY_SPARK_JARS": _jars(tmp_path), "FAIRWAY_CATALOG_URI": "jdbc:sqlite:file:/tmp/c.db"}
    local = session_conf({**base, "FAIRWAY_SPARK_MASTER": "local[2]"})
    assert local["spark.hadoop.fs.file.impl"] == "dev.fairway.hadoop.NioLocalFileSystem"
    assert "spark.executor.memory" not in local

    cluster = {
        **base,
        "FAIRWAY_SPARK_MASTER": "spark://127.0.0.1:7077",
        "FAIRWAY_SPARK_EXECUTOR_MEMORY": "2g",
        "FAIRWAY_SPARK_EXECUTOR_CORES": "2",
    }
    shipped = session_conf(cluster)
    # the executors are other JVMs: no local file system class, no driver class archive; jars shipped to them
    assert "spark.hadoop.fs.file.impl" not in shipped and "fairway-localfs" not in shipped.get(
        "spark.driver.extraClassPath", ""
    )
    assert "SharedArchiveFile" not in shipped["spark.driver.extraJavaOptions"]
    assert shipped["spark.jars"].split(",") == [
        str(tmp_path / "iceberg-spark-runtime.jar"),
        str(tmp_path / "sedona.jar"),
    ]
    assert shipped["spark.executor.memory"] == "2g" and shipped["spark.executor.cores"] == "2"
    assert shipped["spark.dynamicAllocation.enabled"] == "false"

    on_workers = session_conf(
        {**cluster, "FAIRWAY_SPARK_JARS_ON_WORKERS": "true", "FAIRWAY_SPARK_DYNAMIC_ALLOCATION": "true"}
    )
    assert "spark.jars" not in on_workers  # the workers have them on their classpath: nothing to ship
    assert on_workers["spark.driver.extraClassPath"] == f"{tmp_path}/iceberg-spark-runtime.jar:{tmp_path}/sedona.jar"
    assert on_workers["spark.dynamicAllocation.enabled"] == "true"
    assert on_workers["spark.dynamicAllocation.shuffleTracking.enabled"] == "true"

    remote_driver = session_conf({**cluster, "FAIRWAY_SPARK_DRIVER_HOST": "fairway"})
    assert (remote_driver["spark.driver.host"], remote_driver["spark.driver.bindAddress"]) == ("fairway", "0.0.0.0")


def test_on_a_managed_service_the_session_leaves_master_driver_and_executors_to_it_and_glue_uses_the_endpoint():
    from fairway_spark.session import session_conf

    env = {
        "FAIRWAY_SPARK_MASTER": "managed",
        "FAIRWAY_CATALOG_TYPE": "glue",
        "FAIRWAY_WAREHOUSE": "s3://fairway-silver/warehouse",
        "FAIRWAY_AWS_ENDPOINT": "http://127.0.0.1:5123",
        "FAIRWAY_S3_REGION": "us-east-1",
    }
    conf = session_conf(env)
    # EMR Serverless placed the driver and sized both: a local driver's host, heap or JVM options would be wrong
    for key in (
        "spark.driver.memory",
        "spark.driver.host",
        "spark.driver.bindAddress",
        "spark.driver.extraJavaOptions",
        "spark.executor.memory",
        "spark.dynamicAllocation.enabled",
    ):
        assert key not in conf, key
    assert conf["spark.sql.catalog.lakehouse.catalog-impl"] == "org.apache.iceberg.aws.glue.GlueCatalog"
    assert conf["spark.sql.catalog.lakehouse.glue.endpoint"] == "http://127.0.0.1:5123"
    assert conf["spark.sql.catalog.lakehouse.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    # without an emulator the Glue client uses the region's endpoint
    assert "spark.sql.catalog.lakehouse.glue.endpoint" not in session_conf({**env, "FAIRWAY_AWS_ENDPOINT": ""})


def test_bad_executor_settings_name_the_variable(tmp_path):
    import pytest

    from fairway_spark.session import ConfigError, session_conf, watch_executors

    env = {"FAIRWAY_SPARK_MASTER": "spark://127.0.0.1:7077", "FAIRWAY_CATALOG_URI": "jdbc:sqlite:file:/tmp/c.db"}
    with pytest.raises(ConfigError, match="FAIRWAY_SPARK_EXECUTOR_CORES"):
        session_conf({**env, "FAIRWAY_SPARK_EXECUTOR_CORES": "two"})
    with pytest.raises(ConfigError, match="FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS"):
        watch_executors(object(), {**env, "FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS": "soon"})
    assert (
        watch_executors(object(), {**env, "FAIRWAY_SPARK_MASTER": "local[2]"}) is None
    )  # local mode: nothing to watch


def test_the_job_modules_zip_holds_the_package_once_per_version():
    import zipfile

    from fairway_spark.session import job_modules_zip

    path = job_modules_zip()
    assert job_modules_zip() == path
    names = zipfile.ZipFile(path).namelist()
    assert {
        "fairway_spark/__init__.py",
        "fairway_spark/silver/__init__.py",
        "fairway_spark/silver/parse.py",
        "fairway_spark/silver/csv_records.py",
        "fairway_spark/silver/transform.py",
    } <= set(names)


class _FakeContext:
    """What ExecutorWatch reads of a SparkContext: registered executors (+1 for the driver), active jobs."""

    master = "spark://127.0.0.1:7077"

    def __init__(self):
        self.executors, self.jobs, self.cancelled = 0, [], 0
        outer = self

        class _Status:
            def size(self):
                return outer.executors + 1

        class _Sc:
            def getExecutorMemoryStatus(self):
                return _Status()

        class _Jsc:
            def sc(self):
                return _Sc()

        class _Tracker:
            def getActiveJobsIds(self):
                return outer.jobs

        self._jsc, self._tracker = _Jsc(), _Tracker()

    def statusTracker(self):
        return self._tracker

    def cancelAllJobs(self):
        self.cancelled += 1


def test_the_executor_watch_cancels_only_a_job_left_waiting_without_executors():
    import time

    from fairway_spark.session import ExecutorWatch

    sc = _FakeContext()
    watch = ExecutorWatch(type("S", (), {"sparkContext": sc})(), wait_s=0.3, poll_s=0.05)
    try:
        time.sleep(0.6)  # no executor, but no job waits either (driver-only work, dynamic allocation idle)
        assert (watch.reason, sc.cancelled) == (None, 0)
        sc.executors, sc.jobs = 1, [7]
        time.sleep(0.6)  # a job runs on an executor
        assert (watch.reason, sc.cancelled) == (None, 0)
        sc.executors = 0  # the worker died under the running job
        time.sleep(0.8)
        assert sc.cancelled >= 1
        assert "no Spark executor for 0.3 s on spark://127.0.0.1:7077" in watch.reason
        assert "fairway stack up" in watch.reason
    finally:
        watch.stop()
