{{ current_rows('aggregated_streams_saves') }}
