{#- Fixes whose device battery was low (< 20 %) or critical (< 10 %).
    Grain: (course_id, round_id, location_index). -#}
{{ config(event_time='fix_timestamp') }}
select
  course_id,
  round_id,
  location_index,
  device,
  fix_timestamp,
  event_date,
  battery_percentage,
  case when battery_percentage < 10 then 'battery_critical' else 'battery_low' end as health_flag
from {{ source('silver', 'fact_device_health') }}
where battery_percentage < 20
  and round_id is not null
