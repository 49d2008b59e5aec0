"""fairway_spark.query: values as JSON, and rows cut at the limit."""

import datetime
import decimal
import json

from fairway_spark.query import MAX_SAFE_INTEGER, collect, jsonable, max_rows


def test_integers_beyond_doubles_become_exact_text():
    h3_cell = 626716312354910207  # a 64-bit H3 cell id: a JSON number would lose its last digits in JavaScript
    assert json.loads(json.dumps(jsonable(h3_cell))) == "626716312354910207"
    assert jsonable(-h3_cell) == "-626716312354910207"
    assert jsonable(MAX_SAFE_INTEGER) == MAX_SAFE_INTEGER
    assert jsonable(2895) == 2895
    assert jsonable(True) is True


def test_times_decimals_bytes_and_nan():
    assert jsonable(datetime.datetime(2025, 6, 2, 14, 3)) == "2025-06-02T14:03:00"
    assert jsonable(datetime.date(2025, 6, 2)) == "2025-06-02"
    assert jsonable(decimal.Decimal("1.5")) == 1.5
    assert jsonable(b"\x01\xff") == "01ff"
    assert jsonable(float("nan")) is None


def test_max_rows_from_the_environment():
    assert max_rows({}) == 10_000
    assert max_rows({"FAIRWAY_QUERY_MAX_ROWS": "5"}) == 5
    assert max_rows({"FAIRWAY_QUERY_MAX_ROWS": "0"}) is None


def test_a_result_over_the_limit_says_how_many_rows_it_had(spark):
    df = spark.range(25).toDF("n")
    cut = collect(df, 10)
    assert cut["rows"] == [[i] for i in range(10)] and cut["total_rows"] == 25 and cut["columns"] == ["n"]
    whole = collect(df, 25)
    assert len(whole["rows"]) == 25 and "total_rows" not in whole
    assert len(collect(df, None)["rows"]) == 25
