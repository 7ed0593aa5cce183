"""What runs when: the jobs (`jobs`), the schedules (`schedules`), the sensor (`sensors`) and
the days they ask for (`days`)."""
