"""The resources: the tap (`tap`) and the PostgreSQL warehouse (`warehouse`)."""
