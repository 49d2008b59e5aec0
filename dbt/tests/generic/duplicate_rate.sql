{#- Duplicate groups of the key, returned only when the duplicate rows exceed max_rate (a 0-1
    fraction) of all rows: a few duplicates pass, a duplicated partition does not. -#}
{% test duplicate_rate(model, combination_of_columns, max_rate) %}
{%- set cols = combination_of_columns | join(', ') %}
with grouped as (
  select {{ cols }}, count(*) as n_records
  from {{ model }}
  group by {{ cols }}
),
totals as (
  select sum(n_records) as total_rows, sum(n_records - 1) as duplicate_rows
  from grouped
)
select grouped.*, totals.total_rows, totals.duplicate_rows,
       cast(totals.duplicate_rows as double) / totals.total_rows as duplicate_rate
from grouped
cross join totals
where grouped.n_records > 1
  and totals.total_rows > 0
  and cast(totals.duplicate_rows as double) / totals.total_rows > {{ max_rate }}
{% endtest %}
