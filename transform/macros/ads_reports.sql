{#
  Spotify Ads per day in the column shape of multi-platform ad-reporting packages: one row
  per day and account, campaign, ad group (Spotify's ad set) or ad, from the Ads DAY report
  table of that level (an `ads_report_list` item named by the `ads_<level>_day_table`
  variable) and, for the names and the campaign of an ad, the entity streams (`ad_accounts`,
  `campaigns`, `ad_sets`, `ads`). A missing report table makes the model empty, a missing
  entity table or field column leaves its columns null: the Ads part is optional.
  Amounts are in the account's `currency_code`; each row is one account, so nothing here
  adds amounts of different currencies.
#}

{# The loader's relation named `identifier` (next to the Bulk tables), none when absent. #}
{% macro ads_relation(identifier) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set raw = source('spotify', 'bulk_loads') -%}
  {{ return(adapter.get_relation(database=raw.database, schema=raw.schema,
                                 identifier=identifier)) }}
{% endmacro %}

{# Lower-case column names of `relation` ([] for none). #}
{% macro ads_columns(relation) %}
  {%- set names = [] -%}
  {%- if relation is not none -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(names) }}
{% endmacro %}

{# `column` of `alias` cast to `type` when `columns` holds it, else a typed null. #}
{% macro ads_column(alias, column, columns, type) %}
  {%- if column in columns -%}
    cast({{ alias }}.{{ column }} as {{ type }})
  {%- else -%}
    cast(null as {{ type }})
  {%- endif -%}
{% endmacro %}

{# A conversion count: the privacy value -5 (one to four conversions) is unknown: null. #}
{% macro ads_count(alias, column, columns) %}
  {%- if column in columns -%}
    case when {{ alias }}.{{ column }} < 0 then null
         else cast({{ alias }}.{{ column }} as double precision) end
  {%- else -%}
    cast(null as double precision)
  {%- endif -%}
{% endmacro %}

{# A name: the entity table's (`alias`, when `relation` is loaded), else, with `own`, the
   report row's own entity_name. #}
{% macro ads_name(relation, alias, own) %}
  {%- set parts = [] -%}
  {%- if relation is not none -%}
    {%- do parts.append('cast(' ~ alias ~ '.name as ' ~ dbt.type_string() ~ ')') -%}
  {%- endif -%}
  {%- if own -%}{%- do parts.append('report.entity_name') -%}{%- endif -%}
  {%- if parts | length > 1 -%}coalesce({{ parts | join(', ') }})
  {%- elif parts -%}{{ parts[0] }}
  {%- else -%}cast(null as {{ dbt.type_string() }})
  {%- endif -%}
{% endmacro %}

{% macro spotify_ads_report(level) %}
{#- The Ads tables are found at run time (they may not exist); naming the Ads report source
    here, outside `execute`, records the lineage: the model is downstream of the Ads reports
    for dbt and for the orchestrator. -#}
{%- do source('spotify', 'ads_campaign_day') -%}
{%- set entity_types = {'account': 'AD_ACCOUNT', 'campaign': 'CAMPAIGN',
                        'ad_group': 'AD_SET', 'ad': 'AD'} -%}
{%- set tables = {'account': var('ads_account_day_table'),
                  'campaign': var('ads_campaign_day_table'),
                  'ad_group': var('ads_ad_set_day_table'), 'ad': var('ads_ad_day_table')} -%}
{%- set levels = ['account', 'campaign', 'ad_group', 'ad'] -%}
{%- set depth = levels.index(level) -%}
{%- set text = dbt.type_string() -%}
{%- set report = ads_relation(tables[level]) -%}
{%- set present = ads_columns(report) -%}
{%- set names = {} -%}
{%- for table in ['ad_accounts', 'campaigns', 'ad_sets', 'ads'] -%}
  {%- set relation = ads_relation(table) -%}
  {%- do names.update({table: relation if 'id' in ads_columns(relation) else none}) -%}
{%- endfor -%}
{%- set ad_columns = ads_columns(names['ads']) -%}

with report as (
{%- if report is not none %}
    select
        cast(cast(r.start_time as timestamp) as date) as date_day,
        cast(r.ad_account_id as {{ text }}) as account_id,
        cast(r.entity_id as {{ text }}) as entity_id,
        cast(r.entity_name as {{ text }}) as entity_name,
        {{ ads_column('r', 'parent_entity_id', present, text) }} as parent_id,
        {{ ads_column('r', 'currency_code', present, text) }} as currency_code,
        {{ ads_column('r', 'impressions', present, dbt.type_bigint()) }} as impressions,
        {{ ads_column('r', 'clicks', present, dbt.type_bigint()) }} as clicks,
        {{ ads_column('r', 'spend', present, 'double precision') }} as spend,
        {{ ads_count('r', var('ads_conversions_field'), present) }} as conversions,
        {{ ads_column('r', var('ads_conversions_value_field'), present, 'double precision') }}
            as conversions_value
    from {{ report }} as r
    where r.entity_type = '{{ entity_types[level] }}' and r.granularity = 'DAY'
{%- else %}
    select
        cast(null as date) as date_day,
        cast(null as {{ text }}) as account_id,
        cast(null as {{ text }}) as entity_id,
        cast(null as {{ text }}) as entity_name,
        cast(null as {{ text }}) as parent_id,
        cast(null as {{ text }}) as currency_code,
        cast(null as {{ dbt.type_bigint() }}) as impressions,
        cast(null as {{ dbt.type_bigint() }}) as clicks,
        cast(null as double precision) as spend,
        cast(null as double precision) as conversions,
        cast(null as double precision) as conversions_value
    where 1 = 0
{%- endif %}
)

{#- How each level reaches its campaign and ad group. -#}
{%- set ad_set_id = 'report.entity_id' if depth == 2 else 'report.parent_id' -%}
{%- set via = [] -%}
{%- if depth == 3 and 'campaign_id' in ad_columns -%}
  {%- do via.append('cast(ads.campaign_id as ' ~ text ~ ')') -%}
{%- endif -%}
{%- if depth == 3 and names['ad_sets'] is not none -%}
  {%- do via.append('cast(ad_sets.campaign_id as ' ~ text ~ ')') -%}
{%- endif -%}
{%- if depth == 1 -%}
  {%- set campaign_id = 'report.entity_id' -%}
{%- elif depth == 2 -%}
  {%- set campaign_id = 'report.parent_id' -%}
{%- elif via -%}
  {%- set campaign_id = 'coalesce(' ~ via | join(', ') ~ ')' if via | length > 1 else via[0] -%}
{%- else -%}
  {%- set campaign_id = 'cast(null as ' ~ text ~ ')' -%}
{%- endif -%}

select
    report.date_day,
    cast('spotify_ads' as {{ text }}) as platform,
    report.account_id,
    {{ ads_name(names['ad_accounts'], 'accounts', depth == 0) }} as account_name,
{%- if depth >= 1 %}
    {{ campaign_id }} as campaign_id,
    {{ ads_name(names['campaigns'], 'campaigns', depth == 1) }} as campaign_name,
{%- endif %}
{%- if depth >= 2 %}
    {{ ad_set_id }} as ad_group_id,
    {{ ads_name(names['ad_sets'], 'ad_sets', depth == 2) }} as ad_group_name,
{%- endif %}
{%- if depth == 3 %}
    report.entity_id as ad_id,
    {{ ads_name(names['ads'], 'ads', true) }} as ad_name,
{%- endif %}
    report.impressions,
    report.clicks,
    report.spend,
    report.conversions,
    report.conversions_value,
    report.currency_code
from report
{%- if names['ad_accounts'] is not none %}
left join {{ names['ad_accounts'] }} as accounts
    on cast(accounts.id as {{ text }}) = report.account_id
{%- endif %}
{%- if depth == 3 and names['ads'] is not none %}
left join {{ names['ads'] }} as ads on cast(ads.id as {{ text }}) = report.entity_id
{%- endif %}
{%- if depth >= 2 and names['ad_sets'] is not none %}
left join {{ names['ad_sets'] }} as ad_sets on cast(ad_sets.id as {{ text }}) = {{ ad_set_id }}
{%- endif %}
{%- if depth >= 1 and names['campaigns'] is not none %}
left join {{ names['campaigns'] }} as campaigns
    on cast(campaigns.id as {{ text }}) = {{ campaign_id }}
{%- endif %}
{% endmacro %}
