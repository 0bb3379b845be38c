-- Gateway mode: when the device was first given the certificate the upstream issued for its
-- request. A later delivery (the device lost the answer and sent the request again) is a resend:
-- audited as such and not counted toward the device's enrollments of the hour.
ALTER TABLE pending_enrollment ADD COLUMN delivered_at INTEGER;
