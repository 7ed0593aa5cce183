{# Generic tests of this project (no dbt packages: the project installs from PyPI alone). #}

{# No two rows share the values of `columns`. #}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#
  Every row comes from a read that the manifest (bulk_loads) records for its stream and day.
  Disabled when the manifest is not loaded (see the `bulk_streams` variable).
#}
{% test loaded_per_manifest(model, stream) %}
{{ config(enabled=bulk_loaded('bulk_loads')) }}
select r.report_date, r.load_id
from {{ model }} as r
where not exists (
    select 1
    from {{ loaded_source('bulk_loads') }} as m
    where m.stream = '{{ stream }}'
        and m.report_date = r.report_date
        and m.load_id = r.load_id
)
{% endtest %}

{# Each account has one currency: its amounts are never in several (nor added across them). #}
{% test one_currency_per_account(model) %}
select account_id, count(distinct currency_code) as currencies
from {{ model }}
group by account_id
having count(distinct currency_code) > 1
{% endtest %}
