{#- on-run-end: logs one `FAIRWAY_DBT_ROWS {...}` line per table a run built, which Fairway turns
    into the materialization's row_count (dbt-spark's adapter response has no row count). -#}
{% macro fairway_report_row_counts(results) %}
  {%- if execute -%}
    {%- for res in results -%}
      {%- if res.node.resource_type == 'model' and res.status == 'success'
            and res.node.config.materialized in ['table', 'incremental'] -%}
        {%- set counted = run_query('select count(*) as row_count from ' ~ res.node.relation_name) -%}
        {%- set payload = {'unique_id': res.node.unique_id, 'rows': counted.columns[0].values()[0] | int} -%}
        {%- do log('FAIRWAY_DBT_ROWS ' ~ tojson(payload), info=True) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}
