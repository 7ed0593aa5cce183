{{ current_rows('streams', country_partitioned=true) }}
