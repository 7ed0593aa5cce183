{#
  mart_streams_daily's totals equal the current_* models' totals: no fact is lost or counted
  twice. One row per measure that does not reconcile. dbt disables this test with the mart
  when a stream it needs is not loaded (the `bulk_streams` variable).
#}
with measures as (
    select 'stream events' as measure,
        (select count(*) from {{ ref('current_streams') }}) as expected,
        (select sum(stream_events) from {{ ref('mart_streams_daily') }}) as got
    union all
    select 'ms played',
        (select sum(ms_played) from {{ ref('current_streams') }}),
        (select sum(ms_played) from {{ ref('mart_streams_daily') }})
    union all
    select 'aggregated streams',
        (select sum(streams) from {{ ref('current_aggregated_streams_count') }}),
        (select sum(streams) from {{ ref('mart_streams_daily') }})
    union all
    select 'skips',
        (select sum(skips) from {{ ref('current_aggregated_streams_skips') }}),
        (select sum(skips) from {{ ref('mart_streams_daily') }})
    union all
    select 'saves',
        (select sum(saves) from {{ ref('current_aggregated_streams_saves') }}),
        (select sum(saves) from {{ ref('mart_streams_daily') }})
)

select *
from measures
where coalesce(expected, 0) <> coalesce(got, 0)
