"""The session's file:// file system: Fairway's NioLocalFileSystem (no chmod process per file, no .crc)."""

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
    location = spark.sql(f"DESCRIBE TABLE EXTENDED {catalog}.fs_test.t").where("col_name = 'Location'").first().data_type
    files = [os.path.join(d, f) for d, _, names in os.walk(location.removeprefix("file:")) for f in names]
    assert sum(f.endswith(".parquet") for f in files) == 3
    assert not [f for f in files if f.endswith(".crc")]
    assert spark.table(f"{catalog}.fs_test.t").count() == 10


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
