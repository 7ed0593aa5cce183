{{ current_rows('sub30sec_streams', country_partitioned=true) }}
