-- A client asking again for its key (IssuedCertificates.findRetry) is looked up by device and key,
-- newest first. With (device_id, public_key_sha256) alone SQLite took the (device_id, issued_at)
-- index for the ORDER BY and read every certificate the device was ever issued, at every
-- re-enrollment; with issued_at in this index both the match and the order come from it.
DROP INDEX issued_certificate_retry;
CREATE INDEX issued_certificate_retry ON issued_certificate (device_id, public_key_sha256, issued_at);
