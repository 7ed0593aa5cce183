"""The assets: the Bulk reports (`bulk`), the Ads reports (`ads`) and the dbt models of
`transform/` (`dbt`)."""
