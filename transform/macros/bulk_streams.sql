{#
  Which Bulk tables the warehouse holds: the `bulk_streams` variable (dbt_project.yml).

  Its value is `all` (the default: the eight Bulk streams and the `bulk_loads` manifest), a
  list (`--vars '{bulk_streams: [streams, tracks, bulk_loads]}'`), or text naming the streams,
  separated by commas or spaces or as a JSON array (the environment variable
  DBT_BULK_STREAMS, which Meltano's `bulk_streams` setting of the dbt utilities sets).
  A model whose stream is not listed is disabled, and with it its tests and every mart built
  on it; a name that is no Bulk stream is an error.
#}

{% macro bulk_stream_names() %}
  {{ return(['streams', 'sub30sec_streams', 'users', 'tracks', 'aggregated_streams_summary',
             'aggregated_streams_count', 'aggregated_streams_skips',
             'aggregated_streams_saves', 'bulk_loads']) }}
{% endmacro %}

{# The loaded Bulk tables, as a list of names. #}
{% macro loaded_bulk_streams() %}
  {%- set known = bulk_stream_names() -%}
  {%- set value = var('bulk_streams', 'all') -%}
  {%- if value is string -%}
    {%- set text = value | trim -%}
    {%- if text in ('', 'all', '*') -%}
      {%- set value = known -%}
    {%- elif text.startswith('[') -%}
      {%- set value = fromjson(text) -%}
    {%- else -%}
      {%- set value = text.replace(',', ' ').split() -%}
    {%- endif -%}
  {%- endif -%}
  {%- for name in value if name not in known -%}
    {{ exceptions.raise_compiler_error(
         "bulk_streams (DBT_BULK_STREAMS) names '" ~ name ~ "', which is no Bulk stream; "
         ~ "use 'all' or some of: " ~ known | join(', ')) }}
  {%- endfor -%}
  {{ return(value | list) }}
{% endmacro %}

{# True when every named Bulk table is loaded (for `config(enabled=...)`). #}
{% macro bulk_loaded() %}
  {%- set loaded = loaded_bulk_streams() -%}
  {%- for name in varargs if name not in loaded -%}
    {{ return(false) }}
  {%- endfor -%}
  {{ return(true) }}
{% endmacro %}

{#
  The source relation of a loaded Bulk table; when the table does not exist in the warehouse,
  one error line that says what to do instead of the database's "relation does not exist".
#}
{% macro loaded_source(stream) %}
  {%- set relation = source('spotify', stream) -%}
  {%- if execute and adapter.get_relation(database=relation.database, schema=relation.schema,
                                          identifier=relation.identifier) is none -%}
    {{ exceptions.raise_compiler_error(
         "Table " ~ relation ~ " does not exist: load the `" ~ stream ~ "` stream, or leave it "
         ~ "out of the dbt variable bulk_streams (environment variable DBT_BULK_STREAMS, "
         ~ "Meltano setting `bulk_streams` of the dbt utility)") }}
  {%- endif -%}
  {{ return(relation) }}
{% endmacro %}
