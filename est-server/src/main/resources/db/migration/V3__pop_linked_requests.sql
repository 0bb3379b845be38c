-- Gateway mode: whether the gateway checked that the stored request's CSR was linked to the
-- device's TLS connection (RFC 7030 section 3.5). It says so when it forwards the request; a CA
-- whose label requires linking accepts a forwarded request only with that word.
ALTER TABLE pending_enrollment ADD COLUMN pop_linked INTEGER NOT NULL DEFAULT 0;
