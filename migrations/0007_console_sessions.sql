-- 0007: the web console's server-side sessions (docs/console.md). Ids are random (256
-- bits) and only their SHA-256 is stored, so a copy of the table signs nobody in. Each
-- session carries its CSRF synchronizer token. A sign-in in progress (state, PKCE
-- verifier, nonce) is kept the same way until the callback redeems it, once.
CREATE TABLE console_session (
  id_sha256 text PRIMARY KEY,
  subject text NOT NULL,
  tenant_id text,
  display_name text,
  username text,
  role text NOT NULL CHECK (role IN ('viewer', 'reviewer', 'admin')),
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE INDEX console_session_expiry ON console_session (expires_at);

CREATE TABLE console_sign_in (
  id_sha256 text PRIMARY KEY,
  state text NOT NULL,
  nonce text NOT NULL,
  code_verifier text NOT NULL,
  return_to text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
