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

{#- The course centres var (course_id -> [lon, lat]) as an inline relation. -#}
{% macro course_centres_relation() -%}
  {%- set centres = var('course_centres', {}) -%}
  {%- if centres | length == 0 -%}
    select cast(null as {{ dbt.type_string() }}) as course_id, cast(null as double) as centre_lon,
           cast(null as double) as centre_lat
    where 1 = 0
  {%- else -%}
    {%- for course_id, centre in centres | dictsort %}
    select cast('{{ course_id | replace("'", "''") }}' as {{ dbt.type_string() }}) as course_id,
           cast({{ centre[0] | float }} as double) as centre_lon, cast({{ centre[1] | float }} as double) as centre_lat
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
  {%- endif -%}
{%- endmacro %}

{#- The course units var (course_id -> unit names in nine order) as an inline relation
    (course_id, nine_number, unit_name). -#}
{% macro course_units_relation() -%}
  {%- set units = var('course_units', {}) -%}
  {%- set rows = [] -%}
  {%- for course_id, names in units | dictsort -%}
    {%- for name in names -%}{%- do rows.append((course_id, loop.index, name)) -%}{%- endfor -%}
  {%- endfor -%}
  {%- if rows | length == 0 -%}
    select cast(null as {{ dbt.type_string() }}) as course_id, cast(null as {{ dbt.type_int() }}) as nine_number,
           cast(null as {{ dbt.type_string() }}) as unit_name
    where 1 = 0
  {%- else -%}
    {%- for course_id, nine, name in rows %}
    select cast('{{ course_id | replace("'", "''") }}' as {{ dbt.type_string() }}) as course_id,
           cast({{ nine }} as {{ dbt.type_int() }}) as nine_number,
           cast('{{ name | replace("'", "''") }}' as {{ dbt.type_string() }}) as unit_name
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
  {%- endif -%}
{%- endmacro %}
