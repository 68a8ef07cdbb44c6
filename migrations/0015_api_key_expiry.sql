-- 0015: API keys may carry an expiry (`accesstrail keys create --expires-in-days N`):
-- from then on the key is refused, as a revoked one is. NULL: the key does not expire
-- (keys made before this migration, and keys made without the option).
ALTER TABLE api_key ADD COLUMN expires_at timestamptz;
