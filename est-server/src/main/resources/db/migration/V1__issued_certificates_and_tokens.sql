-- Every certificate this server issued, recorded before it is sent (DESIGN.md section 7).
CREATE TABLE issued_certificate (
  serial            TEXT    NOT NULL PRIMARY KEY, -- lower-case hex, as shown everywhere
  device_id         TEXT    NOT NULL,
  subject           TEXT    NOT NULL,             -- RFC 2253 string of the subject
  label             TEXT    NOT NULL,             -- '' for the default profile
  not_before        INTEGER NOT NULL,             -- epoch milliseconds
  not_after         INTEGER NOT NULL,
  issued_at         INTEGER NOT NULL,
  auth_method       TEXT    NOT NULL,             -- token | idevid | certificate | local
  auth_detail       TEXT    NOT NULL,             -- which token, IDevID or certificate
  public_key_sha256 TEXT    NOT NULL,
  certificate_pem   TEXT    NOT NULL,
  forwarded_by      TEXT                          -- the gateway that forwarded it, if any
);
CREATE INDEX issued_certificate_device ON issued_certificate (device_id, issued_at);

-- One-time bootstrap tokens: only a SHA-256 hash of each is kept.
CREATE TABLE bootstrap_token (
  id             INTEGER NOT NULL PRIMARY KEY,
  device_id      TEXT    NOT NULL,
  token_sha256   BLOB    NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  used_at        INTEGER,
  used_by_serial TEXT
);
CREATE INDEX bootstrap_token_device ON bootstrap_token (device_id);
