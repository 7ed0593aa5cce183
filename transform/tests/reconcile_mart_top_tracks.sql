{#
  Each day's first track in mart_top_tracks has the day's greatest streams in the current
  summary. One row when it does not reconcile; disabled with the mart (the `bulk_streams`
  variable).
#}
with measures as (
    select 'top track streams' as measure,
        (select sum(top) from (
            select max(streams) as top
            from {{ ref('current_aggregated_streams_summary') }}
            group by report_date
        ) as days) as expected,
        (select sum(streams) from {{ ref('mart_top_tracks') }} where track_rank = 1) as got
)

select *
from measures
where coalesce(expected, 0) <> coalesce(got, 0)
