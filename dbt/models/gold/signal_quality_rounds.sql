{#- How trustworthy each round's track is. Rates are 0-1 fractions. Grain: (course_id, round_id). -#}
select
  course_id,
  round_id,
  fix_count,
  timestamp_missing_count,
  projected_count,
  problem_count,
  cached_count,
  timestamp_missing_rate,
  projected_rate,
  problem_rate,
  cached_rate
from {{ ref('fact_rounds') }}
