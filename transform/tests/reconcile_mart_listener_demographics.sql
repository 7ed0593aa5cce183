{#
  mart_listener_demographics' totals equal the current_* models' totals. One row per measure
  that does not reconcile; disabled with the mart (the `bulk_streams` variable).
#}
with measures as (
    select 'demographic streams' as measure,
        (select sum(streams) from {{ ref('current_aggregated_streams_count') }}) as expected,
        (select sum(streams) from {{ ref('mart_listener_demographics') }}) as got
    union all
    select 'listeners (users)',
        (select count(*) from {{ ref('current_users') }}),
        (select sum(listeners) from {{ ref('mart_listener_demographics') }})
)

select *
from measures
where coalesce(expected, 0) <> coalesce(got, 0)
