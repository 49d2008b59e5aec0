"""Helpers of spark/silver_job.py: parsing (parse.py), Spark transforms (transform.py), Iceberg writes (tables.py)."""
