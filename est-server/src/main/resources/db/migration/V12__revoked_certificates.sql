-- Certificates revoked by `est-server revoke`: they no longer authenticate to this server
-- (re-enrollment, enrollment with a certificate, a gateway's forwarding) and are not sent again
-- as the answer to a retry. Rows are only added; a server picks up new ones by row id.
CREATE TABLE revoked_certificate (
  serial     TEXT    NOT NULL PRIMARY KEY, -- as in issued_certificate
  revoked_at INTEGER NOT NULL,             -- epoch milliseconds
  reason     TEXT    NOT NULL
);
