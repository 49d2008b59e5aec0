{#- One row per (course_id, round_id, nine_number, hole_number): time and pace on each hole played.
    nine_number is part of the grain because 27-hole sites and 9-hole loops replay hole numbers;
    course_unit names that nine (gold.dim_facility_topology). -#}
{{ config(event_time='hole_start_ts') }}
with fixes as (
  select *
  from {{ source('silver', 'fact_telemetry_event') }}
  where not coalesce(is_location_padding, false)
    and round_id is not null
    and hole_number is not null
),

holes as (
  select
    course_id,
    round_id,
    nine_number,
    hole_number,
    min(fix_timestamp) as hole_start_ts,
    max(fix_timestamp) as hole_end_ts,
    count(*) as fix_count,
    min(section_number) as min_section_number,
    max(section_number) as max_section_number,
    avg(pace) as avg_pace,
    max(pace) as max_pace,
    avg(pace_gap) as avg_pace_gap,
    avg(positional_gap) as avg_positional_gap,
    max({{ flag('is_complete') }}) = 1 as round_was_completed
  from fixes
  group by course_id, round_id, nine_number, hole_number
)

select
  holes.*,
  {{ dbt.datediff('hole_start_ts', 'hole_end_ts', 'second') }} as duration_sec,
  topology.unit_name as course_unit
from holes
left join {{ ref('dim_facility_topology') }} as topology
  on topology.course_id = holes.course_id
  and topology.nine_number = holes.nine_number
