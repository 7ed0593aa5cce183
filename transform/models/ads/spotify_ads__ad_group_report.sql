-- Spotify Ads per day and ad group, in the column shape of multi-platform ad-reporting packages
-- (see macros/ads_reports.sql and models/ads/ads.yml).
{{ spotify_ads_report('ad_group') }}
