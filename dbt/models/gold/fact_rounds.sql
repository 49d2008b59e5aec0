{#- One row per (course_id, round_id): the round as the fixes Silver kept describe it. Rates are
    0-1 fractions (the reference tested them against 0-100). -#}
{{ config(event_time='round_start_ts') }}
with fixes as (
  select *
  from {{ source('silver', 'fact_telemetry_event') }}
  where not coalesce(is_location_padding, false)
    and round_id is not null
),

rounds as (
  select
    course_id,
    round_id,
    min(fix_timestamp) as round_start_ts,
    max(fix_timestamp) as round_end_ts,
    count(*) as fix_count,
    sum({{ flag('fix_timestamp is null') }}) as timestamp_missing_count,
    count(distinct hole_number) as holes_played,
    count(distinct nine_number) as nines_played,
    min(section_number) as min_section_number,
    max(section_number) as max_section_number,
    min(case when hole_section = 1 then section_number end) as first_tee_section_number,
    max(start_hole) as start_hole,
    max(start_section) as start_section,
    max(end_section) as end_section,
    max({{ flag('is_nine_hole') }}) = 1 as is_nine_hole,
    max({{ flag('is_complete') }}) = 1 as is_complete,
    max({{ flag('is_secondary') }}) = 1 as is_secondary,
    max(goal_time) as goal_time,
    avg(pace) as avg_pace,
    max(pace) as max_pace,
    avg(pace_gap) as avg_pace_gap,
    avg(positional_gap) as avg_positional_gap,
    sum({{ flag('is_projected') }}) as projected_count,
    sum({{ flag('is_problem') }}) as problem_count,
    sum({{ flag('is_cache') }}) as cached_count,
    min(battery_percentage) as min_battery_percentage,
    avg(battery_percentage) as avg_battery_percentage,
    sum({{ flag('battery_percentage < 20') }}) as battery_low_count,
    sum({{ flag('battery_percentage < 10') }}) as battery_critical_count
  from fixes
  group by course_id, round_id
)

select
  rounds.*,
  {{ dbt.datediff('round_start_ts', 'round_end_ts', 'second') }} as duration_sec,
  {{ fraction('timestamp_missing_count', 'fix_count') }} as timestamp_missing_rate,
  {{ fraction('projected_count', 'fix_count') }} as projected_rate,
  {{ fraction('problem_count', 'fix_count') }} as problem_rate,
  {{ fraction('cached_count', 'fix_count') }} as cached_rate,
  {{ fraction('battery_low_count', 'fix_count') }} as battery_low_rate,
  case
    when nines_played >= 3 or max_section_number > 54 then '27'
    when nines_played = 2 or max_section_number > 27 then '18'
    else '9'
  end as round_length,
  cast(round_start_ts as date) as round_date,
  cast({{ dbt.date_trunc('month', 'round_start_ts') }} as date) as round_month,
  extract(year from round_start_ts) as round_year,
  {{ iso_weekday('round_start_ts') }} as round_weekday
from rounds
