"""Answers read-only SQL on the embedded profile's Iceberg tables without Spark: pyiceberg reads the
tables that the statement names (from the JDBC catalog's SQLite file) as Arrow, DuckDB runs the SQL.

Same output as fairway_spark.query (one JSON line per statement; ``total_rows`` past ``FAIRWAY_QUERY_MAX_ROWS``),
plus two kinds of answers of its own:

- ``{"statement": i, "error": "...", "code": "TABLE_NOT_FOUND"}``: the statement names a table the catalog
  does not have (Spark would say the same);
- ``{"statement": i, "fallback": "<reason>"}``: DuckDB cannot run it here (not a SELECT, Spark-only syntax or
  functions such as Sedona's ST_*, a view, a parse or binder error): the caller runs it on Spark.

    python -m fairway_spark.query_duckdb "SELECT count(*) FROM silver.fact_telemetry_event" [more statements...]

Reads the same ``FAIRWAY_CATALOG_*`` / ``FAIRWAY_WAREHOUSE`` variables as session.py. Never writes the catalog.
DuckDB extensions are never installed or loaded (no network at run time): the wheel's built-ins only.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from fairway_spark.query import jsonable, max_rows

# Iceberg metadata tables that pyiceberg's `Table.inspect` also has (`silver.fact_telemetry_event.refs` ...).
METADATA_TABLES = (
    "entries",
    "files",
    "history",
    "manifests",
    "metadata_log_entries",
    "partitions",
    "refs",
    "snapshots",
)
# Spark SQL functions that DuckDB has under another name, as macros so the same statement runs on both.
SPARK_MACROS = (
    "CREATE MACRO unix_micros(ts) AS epoch_us(CAST(ts AS TIMESTAMP))",
    "CREATE MACRO unix_millis(ts) AS epoch_ms(CAST(ts AS TIMESTAMP))",
    "CREATE MACRO unix_seconds(ts) AS CAST(epoch(CAST(ts AS TIMESTAMP)) AS BIGINT)",
)
# DuckDB's name for an unaliased count(*); Spark calls the column count(1).
COLUMN_NAMES = {"count_star()": "count(1)"}

_IDENT = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+"|`(?:[^`]|``)+`)'
_CHAIN = re.compile(rf"{_IDENT}(?:\s*\.\s*{_IDENT})*")
_SKIP = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)  # string literals and comments
_STAR = re.compile(r"\*")
_COUNT_STAR = re.compile(r"count\s*\(\s*\*\s*\)", re.I)
# `SELECT * | plain columns FROM t LIMIT n`: no aggregate, DISTINCT or clause that needs more than n rows
_SIMPLE_LIMIT = re.compile(
    rf"^\s*select\s+(?:\*|{_IDENT}(?:\s*,\s*{_IDENT})*)\s+from\s+{_CHAIN.pattern}\s+limit\s+(\d+)\s*;?\s*$", re.I
)
# DuckDB also calls SHOW, DESCRIBE and SUMMARIZE queries SELECTs, but prints them its own way: Spark's.
_READ_START = re.compile(r"^[\s(]*(select|with|values)\b", re.I)
_NOT_FOUND = re.compile(r'^Catalog Error: (?:Table|Schema|Catalog) with name "?([^"\s!]+)"? does not exist')


class Unsupported(Exception):
    """DuckDB cannot run this statement here; the message says why (the caller runs it on Spark)."""


class TableNotFound(Exception):
    """The statement names a table that the catalog does not have."""


def _unquote(part: str) -> str:
    """Lowercased: Spark and DuckDB match names case-insensitively, quoted or not."""
    if part[0] in '"`':
        part = part[1:-1].replace(part[0] * 2, part[0])
    return part.lower()


def scan_sql(sql: str) -> tuple[list[tuple[str, ...]], set[str], bool]:
    """Cheap lexing, no grammar: the dotted names (``silver.fact_rounds``), every identifier word (lowercased)
    and whether a ``*`` other than ``count(*)`` appears (then every column is needed). Over-approximates."""
    text = _SKIP.sub(" ", sql)
    chains = [tuple(_unquote(p.strip()) for p in re.findall(_IDENT, m.group(0))) for m in _CHAIN.finditer(text)]
    words = {w for chain in chains for w in chain}
    return chains, words, bool(_STAR.search(_COUNT_STAR.sub(" ", text)))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_path(uri: str) -> str:
    """``jdbc:sqlite:file:/abs/catalog.db`` (session.py's form) → ``/abs/catalog.db``."""
    if not uri.startswith("jdbc:sqlite:"):
        raise Unsupported(f"the catalog is not a SQLite JDBC catalog ({uri.split(':')[0]}…)")
    path = uri[len("jdbc:sqlite:") :]
    path = path[len("file:") :] if path.startswith("file:") else path
    return path.split("?", 1)[0]


class IcebergCatalog:
    """The catalog's tables, read from the SQLite file that Iceberg Java's JdbcCatalog writes.

    Same rows as pyiceberg's SqlCatalog reads (``iceberg_tables``: catalog_name, table_namespace, table_name,
    metadata_location), plus the ``iceberg_type`` column of the JDBC catalog's V1 schema (session.py sets it),
    which SqlCatalog ignores: a VIEW row there is an Iceberg view, not a table pyiceberg could scan.
    Opened read-only, so a reader never takes a write lock from a running Spark commit.
    """

    def __init__(self, name: str, uri: str, properties: Mapping[str, str]):
        self.name = name
        self.properties = dict(properties)
        self.tables: dict[tuple[str, str], str] = {}
        self.views: set[tuple[str, str]] = set()
        self._loaded: dict[tuple[str, str], object] = {}
        path = sqlite_path(uri)
        if not Path(path).exists():
            return  # nothing written yet: every table is missing
        con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        try:
            columns = {row[1] for row in con.execute("PRAGMA table_info(iceberg_tables)")}
            if not columns:
                return
            kind = "iceberg_type" if "iceberg_type" in columns else "NULL"
            rows = con.execute(
                f"SELECT table_namespace, table_name, metadata_location, {kind} FROM iceberg_tables WHERE catalog_name = ?",
                (name,),
            ).fetchall()
        finally:
            con.close()
        for namespace, table, location, iceberg_type in rows:
            key = (namespace.lower(), table.lower())
            if iceberg_type not in (None, "TABLE"):
                self.views.add(key)
            elif location:
                self.tables[key] = location

    def load(self, key: tuple[str, str]):
        if key not in self._loaded:
            from pyiceberg.table import StaticTable

            self._loaded[key] = StaticTable.from_metadata(self.tables[key], self.properties)
        return self._loaded[key]


def _file_io_properties(env: Mapping[str, str]) -> dict[str, str]:
    """pyiceberg's S3 settings from the profile's (only used with an s3:// warehouse)."""
    props = {
        "s3.endpoint": env.get("FAIRWAY_S3_ENDPOINT"),
        "s3.region": env.get("FAIRWAY_S3_REGION"),
        "s3.access-key-id": env.get("AWS_ACCESS_KEY_ID"),
        "s3.secret-access-key": env.get("AWS_SECRET_ACCESS_KEY"),
    }
    if (env.get("FAIRWAY_S3_PATH_STYLE") or "").lower() in ("true", "1", "yes"):
        props["s3.force-virtual-addressing"] = "false"
    return {k: v for k, v in props.items() if v}


def _local_naive(value):
    """Spark hands timestamps to Python as naive datetimes in the process's zone: do the same."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone().replace(tzinfo=None)
    return value


class DuckDbReader:
    """One DuckDB connection over the catalog's tables; each statement registers the tables it names."""

    def __init__(self, env: Mapping[str, str]):
        import duckdb

        self.duckdb = duckdb
        if (env.get("FAIRWAY_CATALOG_TYPE") or "jdbc") != "jdbc":
            raise Unsupported(f"the catalog is {env.get('FAIRWAY_CATALOG_TYPE')}, not a SQLite JDBC catalog")
        self.catalog = IcebergCatalog(
            env.get("FAIRWAY_CATALOG_NAME") or "lakehouse",
            env.get("FAIRWAY_CATALOG_URI") or "",
            _file_io_properties(env),
        )
        self.con = duckdb.connect(
            ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        settings = (
            "SET python_enable_replacements = false",  # never scan a Python variable named like a table
            "SET TimeZone = 'UTC'",  # spark.sql.session.timeZone (session.py)
            "SET default_null_order = 'nulls_first_on_asc_last_on_desc'",  # Spark's NULL order
        )
        for setting in settings:
            try:
                self.con.execute(setting)
            except duckdb.Error:
                pass  # an older DuckDB without the setting; the defaults are still correct on a UTC machine
        # The catalog's name as DuckDB's default database, its namespaces as schemas: `silver.t` and
        # `lakehouse.silver.t` both resolve, as they do on Spark.
        cat = _quote(self.catalog.name)
        self.con.execute(f"ATTACH ':memory:' AS {cat}")
        self.con.execute(f"USE {cat}")
        for macro in SPARK_MACROS:
            self.con.execute(macro)
        self._arrow: dict[tuple, object] = {}
        self._registered: set[str] = set()
        self._attached: set[str] = set()  # namespace databases of this statement's metadata tables

    def _scan(self, key: tuple[str, str], columns: tuple[str, ...] | None, limit: int | None):
        """The table's current snapshot as an Arrow table, only ``columns`` (None: all), at most ``limit`` rows."""
        cache_key = (key, columns, limit)
        if cache_key not in self._arrow:
            table = self.catalog.load(key)
            scan = table.scan(selected_fields=columns or ("*",), limit=limit)
            self._arrow[cache_key] = scan.to_arrow()
        return self._arrow[cache_key]

    def _register(self, view: str, schema_sql: str, arrow) -> None:
        name = f"__fairway_{len(self._registered)}"
        self._registered.add(name)
        self.con.register(name, arrow)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_sql}")
        self.con.execute(
            f"CREATE OR REPLACE VIEW {schema_sql}.{_quote(view)} AS SELECT * FROM temp.main.{_quote(name)}"
        )

    def prepare(self, sql: str) -> list[tuple[str, ...]]:
        """Registers the catalog tables the statement names, with only the columns it can use; returns the
        statement's dotted names."""
        chains, words, star = scan_sql(sql)
        cat = self.catalog.name.lower()
        simple = _SIMPLE_LIMIT.match(sql)
        for chain in dict.fromkeys(chains):
            prefixed = len(chain) > 2 and chain[0] == cat  # lakehouse.silver.t resolves as silver.t does
            parts = chain[1:] if prefixed else chain
            if len(parts) < 2:
                continue
            key = (parts[0], parts[1])
            if key in self.catalog.views:
                raise Unsupported(f"{'.'.join(key)} is an Iceberg view")
            if key not in self.catalog.tables:
                continue  # an alias's column (t.col), or a missing table: DuckDB's binder says which
            if len(parts) > 2:
                if parts[2] in METADATA_TABLES and len(parts) == 3 and not prefixed:
                    self._register_metadata(key, parts[2])
                continue  # else ns.table.column; an unknown metadata table fails in DuckDB's binder
            table = self.catalog.load(key)
            names = [f.name for f in table.schema().fields]
            columns = None if star else tuple(n for n in names if n.lower() in words) or tuple(names[:1])
            # `SELECT * FROM t LIMIT n` (a table preview) reads n rows, not the whole table
            limit = int(simple.group(1)) if simple else None
            self._register(key[1], f"{_quote(self.catalog.name)}.{_quote(key[0])}", self._scan(key, columns, limit))
        return chains

    def _register_metadata(self, key: tuple[str, str], meta: str) -> None:
        inspect = self.catalog.load(key).inspect
        arrow = getattr(inspect, meta)()
        # `silver.fact_rounds.refs`: a database named after the namespace, with a schema per table. It makes
        # `silver.t` ambiguous (schema or database?) for DuckDB, so it lives only for this statement (run()).
        if key[0] not in self._attached:
            self.con.execute(f"ATTACH ':memory:' AS {_quote(key[0])}")
            self._attached.add(key[0])
        self._register(meta, f"{_quote(key[0])}.{_quote(key[1])}", arrow)

    def run(self, sql: str, limit: int | None) -> dict:
        """Columns, rows (at most ``limit``) and ``total_rows`` when cut, as fairway_spark.query's ``collect``."""
        self._check_read_only(sql)
        try:
            return self._run(sql, limit, self.prepare(sql))
        finally:
            for db in self._attached:
                self.con.execute(f"DETACH {_quote(db)}")
            self._attached.clear()

    def _run(self, sql: str, limit: int | None, chains: list[tuple[str, ...]]) -> dict:
        duckdb = self.duckdb
        try:
            rel = self.con.sql(sql)
            if rel is None:
                raise Unsupported("it returns no rows")
            rows = rel.fetchall() if limit is None else rel.limit(limit + 1).fetchall()
            out: dict = {"columns": [COLUMN_NAMES.get(c, c) for c in rel.columns]}
            if limit is not None and len(rows) > limit:
                out["total_rows"] = rel.aggregate("count(*)").fetchall()[0][0]
                rows = rows[:limit]
        except duckdb.Error as e:
            message = str(e).split("\n")[0]
            missing = _NOT_FOUND.match(message) if isinstance(e, duckdb.CatalogException) else None
            # only a qualified name (silver.t): an unqualified one may be Spark's to resolve (a `USE` before it)
            name = missing.group(1).lower().rsplit(".", 1)[-1] if missing else None  # "nowhere.nope" → nope
            if name and any(len(c) >= 2 and name in c for c in chains):
                raise TableNotFound(f"[TABLE_OR_VIEW_NOT_FOUND] {message}") from e
            raise Unsupported(message) from e
        out["rows"] = [[jsonable(_local_naive(v)) for v in row] for row in rows]
        return out

    def _check_read_only(self, sql: str) -> None:
        """Only one SELECT: writes and DDL (and SHOW/DESCRIBE, which print differently) are Spark's."""
        duckdb = self.duckdb
        try:
            statements = self.con.extract_statements(sql)
        except duckdb.Error as e:
            raise Unsupported(str(e).split("\n")[0]) from e
        if len(statements) != 1:
            raise Unsupported(f"it holds {len(statements)} statements")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT or not _READ_START.match(_SKIP.sub(" ", sql)):
            name = str(kind).split(".")[-1] if kind != duckdb.StatementType.SELECT else sql.split(None, 1)[0].upper()
            raise Unsupported(f"it is a {name} statement; only SELECT is read without Spark")


def main(statements: list[str]) -> int:
    if not statements:
        print("usage: python -m fairway_spark.query_duckdb <sql> [<sql> ...]", file=sys.stderr)
        return 2
    limit = max_rows()
    try:
        reader = DuckDbReader(os.environ)
        setup_failure = None
    except ImportError as e:
        reader, setup_failure = None, f"the Python venv has no {e.name} (run `fairway bootstrap`)"
    except Unsupported as e:
        reader, setup_failure = None, str(e)
    for i, sql in enumerate(statements):
        try:
            if reader is None:
                raise Unsupported(setup_failure)
            line = {"statement": i, **reader.run(sql, limit)}
        except TableNotFound as e:
            line = {"statement": i, "error": str(e), "code": "TABLE_NOT_FOUND"}
        except Unsupported as e:
            line = {"statement": i, "fallback": str(e)}
        except Exception as e:  # noqa: BLE001 - a reader failure (pyiceberg, Arrow) is Spark's to try
            line = {"statement": i, "fallback": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
        print(json.dumps(line, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
