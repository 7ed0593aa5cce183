{#
  The most streamed tracks of each report day (aggregated report), with their metadata from
  the tracks report (joined on ISRC) and rank; the first `top_tracks_per_day` per day.
  Enabled when both streams are loaded (the `bulk_streams` variable).
#}
{{ config(enabled=bulk_loaded('tracks', 'aggregated_streams_summary')) }}

with tracks as (
    select
        cast(report_date as date) as report_date,
        isrc,
        max(track_id) as track_id,
        max(artist_name) as artist_name,
        max(label) as label
    from {{ ref('current_tracks') }}
    group by cast(report_date as date), isrc
),

ranked as (
    select
        cast(s.report_date as date) as report_date,
        row_number() over (
            partition by s.report_date order by s.streams desc nulls last, s.track_href
        ) as track_rank,
        s.track_href,
        s.track_isrc as isrc,
        s.track_name,
        s.album_name,
        s.streams,
        s.skips,
        s.saves
    from {{ ref('current_aggregated_streams_summary') }} as s
)

select
    r.report_date, r.track_rank, r.track_href, r.isrc, t.track_id, r.track_name,
    t.artist_name, r.album_name, t.label, r.streams, r.skips, r.saves,
    cast(r.skips as double precision) / nullif(r.streams, 0) as skip_rate,
    cast(r.saves as double precision) / nullif(r.streams, 0) as save_rate
from ranked as r
left join tracks as t
    on t.report_date = r.report_date and t.isrc = r.isrc
where r.track_rank <= {{ var('top_tracks_per_day') }}
