-- Gateways (registration authorities) are issued certificates like devices, with another role:
-- device | gateway | server (this server's own TLS certificate).
ALTER TABLE issued_certificate ADD COLUMN role TEXT NOT NULL DEFAULT 'device';
ALTER TABLE bootstrap_token ADD COLUMN role TEXT NOT NULL DEFAULT 'device';
-- A gateway names each request it forwards; the same request forwarded twice (a retry after a
-- lost answer) gets the certificate already issued instead of a second one.
ALTER TABLE issued_certificate ADD COLUMN request_id TEXT;
CREATE UNIQUE INDEX issued_certificate_forwarded ON issued_certificate (forwarded_by, request_id)
  WHERE request_id IS NOT NULL;
-- A client that lost the answer sends the same request again (same key, same credential): it
-- finds the certificate already issued.
CREATE INDEX issued_certificate_retry ON issued_certificate (device_id, public_key_sha256);

-- Gateway mode: what devices asked for, kept until the upstream CA has answered and the device
-- has collected the answer. One record per device, key and label: a retry finds it.
CREATE TABLE pending_enrollment (
  id                INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,  -- never reused: a stale id matches nothing
  request_id        TEXT    NOT NULL UNIQUE,  -- random; names the request to the upstream
  device_id         TEXT    NOT NULL,
  public_key_sha256 TEXT    NOT NULL,
  label             TEXT    NOT NULL,
  operation         TEXT    NOT NULL,  -- simpleenroll | simplereenroll
  csr_der           BLOB    NOT NULL,
  auth_method       TEXT    NOT NULL,  -- token | idevid | certificate
  device_token      TEXT,              -- the device's token, until the upstream has answered
  device_chain_pem  TEXT,              -- the device's certificate chain, for certificate devices
  status            TEXT    NOT NULL,  -- pending | issued | refused
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_attempt_at   INTEGER NOT NULL,
  last_error        TEXT,
  result_status     INTEGER,           -- the upstream's refusal status
  result_message    TEXT,              -- and its reason
  certificate_pem   TEXT,              -- the certificate the upstream issued
  UNIQUE (device_id, public_key_sha256, label)
);
CREATE INDEX pending_enrollment_due ON pending_enrollment (status, next_attempt_at);

-- Gateway mode: the upstream's /cacerts and /csrattrs, served while it is away.
CREATE TABLE upstream_cache (
  name        TEXT    NOT NULL PRIMARY KEY,  -- e.g. cacerts/ or csrattrs/factory
  status      INTEGER NOT NULL,              -- 200, or 204 for csrattrs without content
  body        BLOB,
  fetched_at  INTEGER NOT NULL
);
