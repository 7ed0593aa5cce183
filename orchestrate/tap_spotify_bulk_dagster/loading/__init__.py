"""Loading one day's slice outside Dagster's own machinery: the tap | loader pipe (`pipe`),
what the tap logged (`tap_log`), its catalog (`catalog`), the slice itself (`day_slice`) and
the COPY lane that loads it (`copy_load`, run as `python -m`)."""
