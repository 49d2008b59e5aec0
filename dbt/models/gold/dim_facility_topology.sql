{#- One row per (course_id, nine_number): the course's units (nines) and the cumulative section
    range each covers, derived from the nine_number the Silver job gives every fix. unit_name comes
    from config/courses.json (var course_units, passed by Fairway); a nine not named there is
    "Nine <n>". Built here rather than in Silver: it only needs Silver's columns. -#}
with fixes as (
  select course_id, nine_number, section_number
  from {{ source('silver', 'fact_telemetry_event') }}
  where not coalesce(is_location_padding, false)
    and course_id is not null
    and nine_number is not null
),

units as (
  {{ course_units_relation() }}
),

nines as (
  select
    course_id,
    nine_number,
    min(section_number) as section_start,
    max(section_number) as section_end
  from fixes
  group by course_id, nine_number
)

select
  nines.course_id,
  nines.nine_number,
  coalesce(
    units.unit_name,
    {{ dbt.concat(["'Nine '", dbt.cast('nines.nine_number', dbt.type_string())]) }}
  ) as unit_name,
  nines.section_start,
  nines.section_end
from nines
left join units
  on units.course_id = nines.course_id
  and units.nine_number = nines.nine_number
