-- Certificates revoked by `est-server revoke`: they no longer authenticate to this server
-- (re-enrollment, enrollment with a certificate, a gateway's forwarding) and are not sent again
-- as the answer to a retry. Rows are only added; a server picks up new ones by row id.
CREATE TABLE revoked_certificate (
  serial     TEXT    NOT NULL PRIMARY KEY, -- as in issued_certificate
  revoked_at INTEGER NOT NULL,             -- epoch milliseconds
  reason     TEXT    NOT NULL
);

-- Devices revoked as a whole (`est-server revoke --device`): besides their certificates, their
-- manufacturer certificates (IDevIDs) no longer enroll; a token made after the revocation does.
CREATE TABLE revoked_device (
  device_id  TEXT    NOT NULL PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  reason     TEXT    NOT NULL
);
