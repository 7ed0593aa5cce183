"""JSON schemas of the Bulk API streams, one file per stream (read by `SchemaDirectory`)."""
