{#- A custom schema is used as it is (`gold`), not appended to the target's (`gold_gold`): the
    Gold namespace is part of the asset key and must not depend on who runs dbt. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
