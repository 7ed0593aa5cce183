{#
  The marts' totals equal the current_* models' totals: no fact is lost or counted twice.
  Returns one row per measure that does not reconcile.
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
    select 'demographic streams',
        (select sum(streams) from {{ ref('current_aggregated_streams_count') }}),
        (select sum(streams) from {{ ref('mart_listener_demographics') }})
    union all
    select 'skips',
        (select sum(skips) from {{ ref('current_aggregated_streams_skips') }}),
        (select sum(skips) from {{ ref('mart_streams_daily') }})
    union all
    select 'saves',
        (select sum(saves) from {{ ref('current_aggregated_streams_saves') }}),
        (select sum(saves) from {{ ref('mart_streams_daily') }})
    union all
    select 'listeners (users)',
        (select count(*) from {{ ref('current_users') }}),
        (select sum(listeners) from {{ ref('mart_listener_demographics') }})
    union all
    select 'top track streams',
        (select sum(top) from (
            select max(streams) as top
            from {{ ref('current_aggregated_streams_summary') }}
            group by report_date
        ) as days),
        (select sum(streams) from {{ ref('mart_top_tracks') }} where track_rank = 1)
)

select *
from measures
where coalesce(expected, 0) <> coalesce(got, 0)
