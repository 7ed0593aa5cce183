{{ current_rows('users') }}
