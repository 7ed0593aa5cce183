{{ current_rows('tracks') }}
