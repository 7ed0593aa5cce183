{#
  Listener demographics per report day x country x gender x age group: streams from the
  aggregated report, active users from the users report (age group from birth year).
  Enabled when both streams are loaded (the `bulk_streams` variable).
#}
{{ config(enabled=bulk_loaded('aggregated_streams_count', 'users')) }}

with facts as (
    select
        cast(report_date as date) as report_date, country, gender, age_group,
        streams, 0 as listeners
    from {{ ref('current_aggregated_streams_count') }}

    union all

    select
        cast(report_date as date), country, coalesce(gender, 'unknown'),
        {{ age_group('birth_year', 'cast(report_date as date)') }},
        0, 1
    from {{ ref('current_users') }}
),

totals as (
    select
        report_date, country, gender, age_group,
        sum(coalesce(streams, 0)) as streams,
        sum(listeners) as listeners
    from facts
    group by report_date, country, gender, age_group
)

select
    *,
    cast(streams as double precision)
        / nullif(sum(streams) over (partition by report_date, country), 0) as share_of_streams
from totals
