{#- Pace per round, for pace-of-play dashboards. Grain: (course_id, round_id). -#}
{{ config(event_time='round_start_ts') }}
select
  course_id,
  round_id,
  round_start_ts,
  round_end_ts,
  duration_sec,
  fix_count,
  avg_pace,
  max_pace,
  avg_pace_gap,
  avg_positional_gap,
  goal_time,
  is_complete
from {{ ref('fact_rounds') }}
