{#
  The rows of the latest complete read of every day of one Bulk stream.

  A raw row r is kept iff r.load_id >= latest, where latest is the greatest manifest
  (bulk_loads) load_id of the same stream and report_date whose country_scope is '*' or,
  for country-partitioned streams, r.country. A complete re-read rewrites every row of the
  day under its new load_id before its manifest record lands, so rows the new read did not
  rewrite (stale rows of a shorter file, a dropped country, removed tracks) fall out. Rows
  without an applicable manifest row (a first read still in progress) are kept: nothing is
  lost while a read is interrupted. Load ids sort in time order as text.

  The model is enabled only when its stream is listed in the `bulk_streams` variable
  (macros/bulk_streams.sql). Without the manifest (`bulk_loads` not listed: not selected in
  the tap), no read is known to be complete and every raw row is kept, stale rows of restated
  days included.
#}
{% macro current_rows(stream, country_partitioned=false) %}
{{ config(enabled=bulk_loaded(stream)) }}
{%- if not bulk_loaded('bulk_loads') %}
select * from {{ loaded_source(stream) }}
{%- else %}
with raw as (
    select * from {{ loaded_source(stream) }}
),

manifest as (
    select report_date, country_scope, max(load_id) as load_id
    from {{ loaded_source('bulk_loads') }}
    where stream = '{{ stream }}'
    group by report_date, country_scope
),

partitions as (
    select distinct report_date{% if country_partitioned %}, country{% endif %}
    from raw
),

latest as (
    select
        p.report_date,
        {% if country_partitioned %}p.country,{% endif %}
        max(m.load_id) as load_id
    from partitions as p
    inner join manifest as m
        on m.report_date = p.report_date
        and m.country_scope {% if country_partitioned %}in ('*', p.country){% else %}= '*'{% endif %}
    group by p.report_date{% if country_partitioned %}, p.country{% endif %}
)

select raw.*
from raw
left join latest
    on latest.report_date = raw.report_date
    {% if country_partitioned %}and latest.country = raw.country{% endif %}
where latest.load_id is null or raw.load_id >= latest.load_id
{%- endif %}
{% endmacro %}
