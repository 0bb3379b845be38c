-- A gateway drops answers its devices have not collected within gateway.answeredTtl, at every
-- forwarding round, inside the write transaction that admissions share. Searched by status alone,
-- that read every answered request each round (after an outage, the whole fleet's answers). This
-- partial index holds only answered requests, in the order they were answered; waiting requests,
-- updated at every forward, do not maintain it.
CREATE INDEX pending_enrollment_answered ON pending_enrollment (updated_at) WHERE status <> 'pending';
