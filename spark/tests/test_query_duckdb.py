"""fairway_spark.query_duckdb: the same answers as fairway_spark.query without Spark, on a table Spark wrote."""

import os
import sqlite3

import pytest

from fairway_spark.query import collect
from fairway_spark.query_duckdb import DuckDbReader, IcebergCatalog, TableNotFound, Unsupported, scan_sql, sqlite_path


def test_scan_finds_dotted_names_and_words_outside_strings_and_comments():
    chains, words, star = scan_sql(
        "SELECT e.round_id, count(*) FROM silver.fact_telemetry_event e -- gold.nope\n"
        "JOIN \"Gold\".fact_rounds r ON r.round_id = e.round_id WHERE e.course = 'silver.x'"
    )
    assert ("silver", "fact_telemetry_event") in chains and ("gold", "fact_rounds") in chains
    assert ("gold", "nope") not in chains and ("silver", "x") not in chains
    assert {"round_id", "course"} <= words and not star
    assert scan_sql("SELECT * FROM silver.t")[2] and scan_sql("SELECT a * 2 FROM silver.t")[2]
    assert not scan_sql("SELECT COUNT( * ) FROM silver.t")[2]


def test_sqlite_path_of_the_jdbc_uri():
    assert sqlite_path("jdbc:sqlite:file:/abs/warehouse/catalog.db") == "/abs/warehouse/catalog.db"
    assert sqlite_path("jdbc:sqlite:/abs/catalog.db?journal_mode=WAL") == "/abs/catalog.db"
    with pytest.raises(Unsupported):
        sqlite_path("jdbc:postgresql://db/catalog")


def test_catalog_rows_as_iceberg_java_writes_them(tmp_path):
    """The JdbcCatalog V1 layout: iceberg_type tells tables from views; other catalogs' rows are not ours."""
    db = tmp_path / "catalog.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL,"
        " table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), previous_metadata_location VARCHAR(1000),"
        " iceberg_type VARCHAR(5), PRIMARY KEY (catalog_name, table_namespace, table_name))"
    )
    con.executemany(
        "INSERT INTO iceberg_tables VALUES (?, ?, ?, ?, NULL, ?)",
        [
            ("lakehouse", "silver", "fact_a", "file:/w/silver/fact_a/metadata/1.metadata.json", "TABLE"),
            ("lakehouse", "gold", "v_a", "file:/w/gold/v_a/metadata/1.metadata.json", "VIEW"),
            ("other", "silver", "fact_b", "file:/w/x.metadata.json", "TABLE"),
        ],
    )
    con.commit()
    con.close()
    catalog = IcebergCatalog("lakehouse", f"jdbc:sqlite:file:{db}", {})
    assert catalog.tables == {("silver", "fact_a"): "file:/w/silver/fact_a/metadata/1.metadata.json"}
    assert catalog.views == {("gold", "v_a")}
    assert IcebergCatalog("lakehouse", f"jdbc:sqlite:file:{tmp_path}/none.db", {}).tables == {}


# Same columns and rows on both engines.
STATEMENTS = [
    "SELECT count(*) FROM duckq.events",
    "SELECT day, count(*) AS n, sum(amount) AS total, max(ts) AS last FROM duckq.events GROUP BY day ORDER BY day",
    "SELECT id, day, ts, amount, payload, big, name FROM duckq.events WHERE day = DATE '2025-06-02' ORDER BY id",
    "SELECT id, name FROM lakehouse.duckq.events WHERE name IS NULL OR name LIKE 'b%' ORDER BY id",
    "SELECT id, amount FROM duckq.events ORDER BY amount",  # NULLs first, as Spark orders them
    "SELECT id, amount FROM duckq.events ORDER BY amount DESC",
]
# Same rows; the engines name unaliased expressions their own way. These are the UI's table-read statements.
SAME_ROWS = [
    "SELECT count(*), unix_micros(CAST(max(ts) AS timestamp)) FROM duckq.events",
    "SELECT CAST(snapshot_id AS string) FROM duckq.events.refs WHERE name = 'main'",
]


@pytest.fixture(scope="module")
def events(spark):
    spark.sql("CREATE NAMESPACE IF NOT EXISTS duckq")
    spark.sql("DROP TABLE IF EXISTS duckq.events")
    spark.sql(
        "CREATE TABLE duckq.events (id BIGINT, day DATE, ts TIMESTAMP, amount DECIMAL(10,2), payload BINARY,"
        " big BIGINT, name STRING) USING iceberg PARTITIONED BY (day)"
    )
    spark.sql(
        "INSERT INTO duckq.events VALUES"
        " (1, DATE '2025-06-02', TIMESTAMP '2025-06-02 07:01:02.5', 12.50, X'01ff', 626716312354910207, 'alpha'),"
        " (2, DATE '2025-06-02', TIMESTAMP '2025-06-02 23:59:59', 0.10, NULL, 3, 'bravo'),"
        " (3, DATE '2025-06-03', TIMESTAMP '2025-06-03 00:00:00', NULL, X'', -626716312354910207, NULL)"
    )
    return "duckq.events"


def test_duckdb_answers_as_spark_does(spark, events):
    reader = DuckDbReader(os.environ)
    for sql in STATEMENTS:
        assert reader.run(sql, 10_000) == collect(spark.sql(sql), 10_000), sql
    for sql in SAME_ROWS:
        assert reader.run(sql, 10_000)["rows"] == collect(spark.sql(sql), 10_000)["rows"], sql
    # `duckq.events` still names the table once `duckq.events.refs` made `duckq` a database too (the UI's order)
    assert reader.run(STATEMENTS[2], 10_000) == collect(spark.sql(STATEMENTS[2]), 10_000)


def test_rows_past_the_limit_are_counted(spark, events):
    reader = DuckDbReader(os.environ)
    sql = "SELECT id FROM duckq.events ORDER BY id"
    assert reader.run(sql, 2) == collect(spark.sql(sql), 2) == {"columns": ["id"], "rows": [[1], [2]], "total_rows": 3}
    # a preview reads only the rows it shows
    assert len(reader.run("SELECT * FROM duckq.events LIMIT 2", 10)["rows"]) == 2


def test_a_missing_table_is_table_not_found(events):
    reader = DuckDbReader(os.environ)
    with pytest.raises(TableNotFound, match="TABLE_OR_VIEW_NOT_FOUND"):
        reader.run("SELECT * FROM duckq.nope", 10)
    with pytest.raises(TableNotFound):
        reader.run("SELECT * FROM nowhere.nope", 10)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ST_AsText(ST_Point(1.0, 2.0))",  # Sedona
        "SELECT id FROM duckq.events WHERE spark_partition_id() >= 0",  # a Spark-only function
        "SELECT id, x FROM duckq.events LATERAL VIEW explode(array(1, 2)) t AS x",  # Spark-only syntax
        "INSERT INTO duckq.events SELECT * FROM duckq.events",
        "CREATE TABLE duckq.copy AS SELECT * FROM duckq.events",
        "SELECT * FROM duckq.events VERSION AS OF 1",
        "DESCRIBE duckq.events",  # DuckDB runs it as a SELECT, but prints it its own way
        "SHOW TABLES",
    ],
)
def test_what_duckdb_cannot_run_is_left_to_spark(events, sql):
    with pytest.raises(Unsupported):
        DuckDbReader(os.environ).run(sql, 10)
