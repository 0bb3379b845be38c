-- GET /health is unauthenticated and polled by monitoring. It counted the CA's ledger with
-- COUNT(*), which reads a whole index (seconds at ten million certificates), and a gateway's
-- queue by reading every stored request. The counts are kept here instead, by triggers, in the
-- same transactions as the rows they count, and the oldest waiting request is found by an index.

CREATE TABLE issued_count (
  id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  issued INTEGER NOT NULL  -- rows of issued_certificate
);
INSERT INTO issued_count (id, issued) SELECT 1, COUNT(*) FROM issued_certificate;

CREATE TRIGGER issued_count_insert AFTER INSERT ON issued_certificate
BEGIN
  UPDATE issued_count SET issued = issued + 1 WHERE id = 1;
END;

CREATE TRIGGER issued_count_delete AFTER DELETE ON issued_certificate
BEGIN
  UPDATE issued_count SET issued = issued - 1 WHERE id = 1;
END;

-- A gateway's answers waiting for their devices, by status (issued | refused); the waiting
-- requests are counted in pending_count (V5). The same four triggers as there, for the other side.
CREATE TABLE answered_count (
  status   TEXT    NOT NULL PRIMARY KEY,
  answered INTEGER NOT NULL  -- rows of pending_enrollment with this status
);
INSERT INTO answered_count (status, answered)
  SELECT status, COUNT(*) FROM pending_enrollment WHERE status <> 'pending' GROUP BY status;

CREATE TRIGGER answered_count_insert AFTER INSERT ON pending_enrollment
  WHEN NEW.status <> 'pending'
BEGIN
  INSERT INTO answered_count (status, answered) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET answered = answered + 1;
END;

CREATE TRIGGER answered_count_delete AFTER DELETE ON pending_enrollment
  WHEN OLD.status <> 'pending'
BEGIN
  UPDATE answered_count SET answered = answered - 1 WHERE status = OLD.status;
END;

CREATE TRIGGER answered_count_update_leave AFTER UPDATE OF status ON pending_enrollment
  WHEN OLD.status <> 'pending'
BEGIN
  UPDATE answered_count SET answered = answered - 1 WHERE status = OLD.status;
END;

CREATE TRIGGER answered_count_update_enter AFTER UPDATE OF status ON pending_enrollment
  WHEN NEW.status <> 'pending'
BEGIN
  INSERT INTO answered_count (status, answered) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET answered = answered + 1;
END;

-- The oldest waiting request (health), and the waiting requests past gateway.pendingTtl (expiry,
-- every forwarding round), in created_at order.
CREATE INDEX pending_enrollment_age ON pending_enrollment (status, created_at);
