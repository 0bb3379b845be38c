-- Unused bootstrap tokens ended by an operator (`est-server revoke --token`, or `--device` for
-- all of a device's): refused as revoked, with the reason, from then on. Tokens ended by
-- `revoke --device` before this migration were made to expire instead and stay so.
ALTER TABLE bootstrap_token ADD COLUMN revoked_at INTEGER; -- epoch milliseconds, NULL: not revoked
ALTER TABLE bootstrap_token ADD COLUMN revoked_reason TEXT;
