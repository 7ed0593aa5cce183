{# Spotify's age groups (as in the aggregated report) from a birth year on a report date. #}
{% macro age_group(birth_year, report_date) -%}
case
    when {{ birth_year }} is null then 'unknown'
    when extract(year from {{ report_date }}) - {{ birth_year }} < 18 then '0-17'
    when extract(year from {{ report_date }}) - {{ birth_year }} <= 22 then '18-22'
    when extract(year from {{ report_date }}) - {{ birth_year }} <= 27 then '23-27'
    when extract(year from {{ report_date }}) - {{ birth_year }} <= 34 then '28-34'
    when extract(year from {{ report_date }}) - {{ birth_year }} <= 44 then '35-44'
    when extract(year from {{ report_date }}) - {{ birth_year }} <= 59 then '45-59'
    else '60+'
end
{%- endmacro %}
