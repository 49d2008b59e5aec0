{#- Engine differences the cross-database macros of dbt do not cover. -#}

{#- ISO weekday, 1 = Monday ... 7 = Sunday (Spark's dayofweek is 1 = Sunday, Trino's is ISO). -#}
{% macro iso_weekday(ts) -%}
  {{ return(adapter.dispatch('iso_weekday', 'fairway')(ts)) }}
{%- endmacro %}

{% macro default__iso_weekday(ts) -%}
  extract(isodow from {{ ts }})
{%- endmacro %}

{% macro spark__iso_weekday(ts) -%}
  (((dayofweek({{ ts }}) + 5) % 7) + 1)
{%- endmacro %}

{% macro trino__iso_weekday(ts) -%}
  day_of_week({{ ts }})
{%- endmacro %}

{% macro athena__iso_weekday(ts) -%}
  day_of_week({{ ts }})
{%- endmacro %}

{#- Share as a 0-1 fraction (NULL when the denominator is 0). -#}
{% macro fraction(numerator, denominator) -%}
  case when {{ denominator }} > 0 then cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}

{#- 1 when the boolean expression is true, else 0 (NULL counts as false). -#}
{% macro flag(expr) -%}
  case when {{ expr }} then 1 else 0 end
{%- endmacro %}

{#- Great-circle distance in km (equirectangular approximation: exact enough below ~1000 km,
    and only ever compared with thresholds). Portable: radians/cos/sqrt/power exist everywhere. -#}
{% macro distance_km(lat1, lon1, lat2, lon2) -%}
  (6371.0 * sqrt(
      power(radians({{ lat2 }}) - radians({{ lat1 }}), 2)
    + power(cos((radians({{ lat1 }}) + radians({{ lat2 }})) / 2) * (radians({{ lon2 }}) - radians({{ lon1 }})), 2)
  ))
{%- endmacro %}

{#- The course centres var (course_id -> [lon, lat]) as an inline relation (course_id, centre_lon,
    centre_lat). One row per course: the var holds every course of config/courses.json, hundreds on a
    large site. -#}
{% macro course_centres_relation() -%}
  {%- set rows = [] -%}
  {%- for course_id, centre in var('course_centres', {}) | dictsort -%}
    {%- do rows.append([fairway_string(course_id), fairway_double(centre[0]), fairway_double(centre[1])]) -%}
  {%- endfor -%}
  {{ inline_relation(rows, ['course_id', 'centre_lon', 'centre_lat'],
                     [dbt.type_string(), 'double', 'double']) }}
{%- endmacro %}

{#- The course units var (course_id -> unit names in nine order) as an inline relation
    (course_id, nine_number, unit_name). -#}
{% macro course_units_relation() -%}
  {%- set rows = [] -%}
  {%- for course_id, names in var('course_units', {}) | dictsort -%}
    {%- for name in names -%}
      {%- do rows.append([fairway_string(course_id), fairway_int(loop.index), fairway_string(name)]) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ inline_relation(rows, ['course_id', 'nine_number', 'unit_name'],
                     [dbt.type_string(), dbt.type_int(), dbt.type_string()]) }}
{%- endmacro %}

{#- Typed SQL literals for inline_relation's rows. -#}
{% macro fairway_string(value) -%}
  cast('{{ value | replace("'", "''") }}' as {{ dbt.type_string() }})
{%- endmacro %}

{% macro fairway_double(value) -%}
  cast({{ value | float }} as double)
{%- endmacro %}

{% macro fairway_int(value) -%}
  cast({{ value | int }} as {{ dbt.type_int() }})
{%- endmacro %}

{#- A relation of literal rows (each a list of SQL expressions, in `columns` order); no rows gives an
    empty relation of those column types. -#}
{% macro inline_relation(rows, columns, types) -%}
  {%- if rows | length == 0 -%}
    select
    {%- for column in columns %} cast(null as {{ types[loop.index0] }}) as {{ column }}{% if not loop.last %},{% endif %}{% endfor %}
    where 1 = 0
  {%- else -%}
    {{ return(adapter.dispatch('inline_relation', 'fairway')(rows, columns)) }}
  {%- endif -%}
{%- endmacro %}

{#- One `select` per row, `union all`-ed: plain SQL every engine runs. -#}
{% macro default__inline_relation(rows, columns) -%}
  {%- for row in rows %}
    select {% for value in row %}{{ value }} as {{ columns[loop.index0] }}{% if not loop.last %}, {% endif %}{% endfor %}
    {% if not loop.last %}union all{% endif %}
  {%- endfor %}
{%- endmacro %}

{#- Spark: one inline VALUES table, which the analyzer turns into a single local relation. The
    default's union of one-row selects is planned and run as one branch (one task) per row: with a
    few hundred courses that cost the swapped-coordinate test and gold.dim_facility_topology 10–20 s
    each, growing with every course. Same rows, same types. -#}
{% macro spark__inline_relation(rows, columns) -%}
    select {{ columns | join(', ') }}
    from (values
    {%- for row in rows %}
      ({{ row | join(', ') }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as inline_rows({{ columns | join(', ') }})
{%- endmacro %}
