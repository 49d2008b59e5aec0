"""Fairway's Spark side: the Silver job and its helpers, each job a module run with ``python -m``.

With ``spark/`` on ``PYTHONPATH`` (Fairway sets it; ``assets/lib/spark-python.ts``)::

    python -m fairway_spark.silver_job --manifest FILE ...   # Bronze → Silver (silver/)
    python -m fairway_spark.query "SELECT ..."               # `fairway query` on Spark
    python -m fairway_spark.query_duckdb "SELECT ..."        # the same without a JVM
    python -m fairway_spark.wap publish ...                  # write-audit-publish on the Silver tables
    python -m fairway_spark.dbt_profile                      # dbt-spark's session settings
    python -m fairway_spark.class_archive ARCHIVE            # the driver JVM's class archive (bootstrap)

Jobs report to the orchestrator only through ``fairway_pipes`` (stdlib only, beside this package).
"""
