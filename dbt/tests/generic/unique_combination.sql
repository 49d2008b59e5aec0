{#- Groups of rows sharing the same values in every listed column (one failing row per group). -#}
{% test unique_combination(model, combination_of_columns) %}
{%- set cols = combination_of_columns | join(', ') %}
select {{ cols }}, count(*) as n_records
from {{ model }}
group by {{ cols }}
having count(*) > 1
{% endtest %}
