-- 0016: the store tells the service when what it keeps in memory changes.
--
-- The API serves every request after two lookups: the API key by its hash and the latest
-- successful correlation run (and, for a report, the hash its row names). Each is a few
-- microseconds inside Postgres and a round trip outside it, which at 50 connections was
-- most of what separated the service from a bare route (docs/scale.md, "The API"). The
-- service keeps their answers in memory and forgets them when one of these statements
-- commits (src/store/change-feed.ts LISTENs on the channel): any process sharing the
-- store (the CLI revoking a key, a worker finishing a run) is seen there as soon as
-- Postgres delivers the notification, milliseconds after the commit.
--
-- One notification per statement, its payload the table's name (Postgres folds the same
-- payload sent twice in one transaction into one). api_key's last_used_at, which the API
-- itself writes about once a minute per key, does not invalidate anything.
CREATE FUNCTION accesstrail_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('accesstrail_change', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER api_key_changed
  AFTER UPDATE OF key_sha256, scopes, revoked_at, expires_at OR DELETE OR TRUNCATE ON api_key
  FOR EACH STATEMENT EXECUTE FUNCTION accesstrail_notify_change();

CREATE TRIGGER correlation_run_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON correlation_run
  FOR EACH STATEMENT EXECUTE FUNCTION accesstrail_notify_change();

CREATE TRIGGER report_changed
  AFTER UPDATE OR DELETE OR TRUNCATE ON report
  FOR EACH STATEMENT EXECUTE FUNCTION accesstrail_notify_change();
