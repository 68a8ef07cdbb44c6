-- 0017: each finding's JSON as the API serves it (GET /v1/findings), written once when
-- a correlation run stores its findings: a run's findings never change, so a page of
-- findings becomes its rows' texts joined, with nothing built per request
-- (src/correlation/finding-json.ts). NULL for findings stored before this migration:
-- the API builds their JSON per request as before, the same bytes.
ALTER TABLE finding ADD COLUMN api_json text;
