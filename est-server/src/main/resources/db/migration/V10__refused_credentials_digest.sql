-- Gateway mode: a SHA-256 of the credentials a request was sent with (the device's token, or its
-- certificate chain), kept after the upstream's answer wipes the token itself. A refusal is told
-- only to a sending with the credentials it refused: a device whose request joined a copy of its
-- CSR sent first with a wrong token is not told that token's refusal. Requests stored before this
-- migration have none; their refusal is told to the next authenticated sending, as it was.
ALTER TABLE pending_enrollment ADD COLUMN credentials_sha256 BLOB;
