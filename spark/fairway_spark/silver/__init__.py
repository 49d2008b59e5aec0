"""The Silver job's parts (fairway_spark.silver_job runs them): its partitions (manifest.py), Bronze files → records
(parse.py: decoders.py, csv_records.py, json_records.py, records.py), Spark transforms (transform.py), re-delivered
rounds (redelivery.py), Iceberg writes (tables.py) and what is reported per partition (report.py)."""
