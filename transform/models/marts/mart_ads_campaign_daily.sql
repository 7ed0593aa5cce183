{#
  Ads performance per campaign and day, from the Ads report table named by the
  `ads_campaign_day_table` variable (an `ads_report_list` item with dimension CAMPAIGN and
  granularity DAY). Without that table (or one of its field columns) the mart (or that
  column) is empty rather than failing: the Ads part is optional. Amounts are in the ad
  account's currency (`currency_code`, null for rows loaded before the tap carried it): a
  sum across accounts must group by it.
#}
{%- set wanted = ['impressions', 'clicks', 'spend', 'streams'] -%}
{%- set raw = source('spotify', 'ads_campaign_day') -%}
{%- set relation = adapter.get_relation(database=raw.database, schema=raw.schema,
                                         identifier=var('ads_campaign_day_table'))
    if execute else none -%}
{%- set present = [] -%}
{%- if relation is not none -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do present.append(column.name | lower) -%}
  {%- endfor -%}
{%- endif -%}

with campaign_days as (
{%- if relation is not none %}
    select
        cast(ad_account_id as {{ dbt.type_string() }}) as ad_account_id,
        cast({{ 'currency_code' if 'currency_code' in present else 'null' }}
             as {{ dbt.type_string() }}) as currency_code,
        cast(entity_id as {{ dbt.type_string() }}) as campaign_id,
        cast(entity_name as {{ dbt.type_string() }}) as campaign_name,
        cast(cast(start_time as timestamp) as date) as report_date,
        {%- for field in wanted %}
        cast({{ field if field in present else 'null' }} as double precision) as {{ field }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    where entity_type = 'CAMPAIGN' and granularity = 'DAY'
{%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as ad_account_id,
        cast(null as {{ dbt.type_string() }}) as currency_code,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as campaign_name,
        cast(null as date) as report_date,
        {%- for field in wanted %}
        cast(null as double precision) as {{ field }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0
{%- endif %}
)

select
    *,
    clicks / nullif(impressions, 0) as ctr,
    spend / nullif(impressions, 0) * 1000 as e_cpm,
    spend / nullif(streams, 0) as cost_per_stream
from campaign_days
