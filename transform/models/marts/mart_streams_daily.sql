{#
  Streams per report day x track (ISRC) x country: stream events and listeners from the
  streams report, aggregated streams, skips and saves from the aggregated report, and the
  skip and save rates (per aggregated stream). One long union, then one group by: every
  fact lands in exactly one row, so totals reconcile with the current_* models.
  Enabled when all four streams it reads are loaded (the `bulk_streams` variable).
#}
{{ config(enabled=bulk_loaded('streams', 'aggregated_streams_count',
                              'aggregated_streams_skips', 'aggregated_streams_saves')) }}

with facts as (
    select
        report_date, isrc, country, 1 as stream_events, user_id, ms_played,
        case when completion then 1 else 0 end as completed_events,
        0 as streams, 0 as skips, 0 as saves
    from {{ ref('current_streams') }}

    union all

    select
        report_date, track_isrc, country, 0, null, 0, 0, streams, 0, 0
    from {{ ref('current_aggregated_streams_count') }}

    union all

    select
        report_date, track_isrc, country, 0, null, 0, 0, 0, skips, 0
    from {{ ref('current_aggregated_streams_skips') }}

    union all

    select
        report_date, track_isrc, country, 0, null, 0, 0, 0, 0, saves
    from {{ ref('current_aggregated_streams_saves') }}
),

totals as (
    select
        cast(report_date as date) as report_date,
        isrc,
        country,
        sum(stream_events) as stream_events,
        count(distinct user_id) as listeners,
        sum(ms_played) as ms_played,
        sum(completed_events) as completed_events,
        sum(coalesce(streams, 0)) as streams,
        sum(coalesce(skips, 0)) as skips,
        sum(coalesce(saves, 0)) as saves
    from facts
    group by cast(report_date as date), isrc, country
)

select
    *,
    cast(skips as double precision) / nullif(streams, 0) as skip_rate,
    cast(saves as double precision) / nullif(streams, 0) as save_rate
from totals
