{#- Fixes probably recorded with latitude and longitude swapped: farther than far_km from their
    course's centre, but within near_km of it once swapped. Centres come from the course_centres
    var (config/courses.json); courses without a centre are not tested. -#}
{% test swapped_coordinates(model, course_column='course_id', lat_column='latitude', lon_column='longitude',
                            far_km=none, near_km=none) %}
{%- set far = far_km if far_km is not none else var('swapped_far_km') %}
{%- set near = near_km if near_km is not none else var('swapped_near_km') %}
with centres as (
  {{ course_centres_relation() }}
),
fixes as (
  select m.*, c.centre_lat, c.centre_lon,
         {{ distance_km('m.' ~ lat_column, 'm.' ~ lon_column, 'c.centre_lat', 'c.centre_lon') }} as distance_km,
         {{ distance_km('m.' ~ lon_column, 'm.' ~ lat_column, 'c.centre_lat', 'c.centre_lon') }} as swapped_distance_km
  from {{ model }} m
  join centres c on m.{{ course_column }} = c.course_id
  where m.{{ lat_column }} is not null and m.{{ lon_column }} is not null
)
select *
from fixes
where distance_km > {{ far }} and swapped_distance_km <= {{ near }}
{% endtest %}
