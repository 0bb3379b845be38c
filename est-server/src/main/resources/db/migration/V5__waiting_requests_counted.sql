-- A gateway admits a device's request only while fewer than gateway.queueLimit requests wait for
-- the upstream (gateway.tokenQueueLimit of them by token). It counted them with COUNT(*) over the
-- waiting rows at every admission, inside the write transaction: after an outage, when the queue
-- is long and the fleet comes back, each admission read the whole queue. The counts are kept
-- here instead, by triggers, in the same transactions as the rows they count.
CREATE TABLE pending_count (
  auth_method TEXT    NOT NULL PRIMARY KEY,  -- token | idevid | certificate
  waiting     INTEGER NOT NULL               -- rows of pending_enrollment with status 'pending'
);
INSERT INTO pending_count (auth_method, waiting)
  SELECT auth_method, COUNT(*) FROM pending_enrollment WHERE status = 'pending' GROUP BY auth_method;

CREATE TRIGGER pending_count_insert AFTER INSERT ON pending_enrollment
  WHEN NEW.status = 'pending'
BEGIN
  INSERT INTO pending_count (auth_method, waiting) VALUES (NEW.auth_method, 1)
    ON CONFLICT (auth_method) DO UPDATE SET waiting = waiting + 1;
END;

CREATE TRIGGER pending_count_delete AFTER DELETE ON pending_enrollment
  WHEN OLD.status = 'pending'
BEGIN
  UPDATE pending_count SET waiting = waiting - 1 WHERE auth_method = OLD.auth_method;
END;

-- An update leaves the count of its old state and enters that of its new one: both fire when a
-- waiting row stays waiting, and cancel out.
CREATE TRIGGER pending_count_update_leave AFTER UPDATE OF status, auth_method ON pending_enrollment
  WHEN OLD.status = 'pending'
BEGIN
  UPDATE pending_count SET waiting = waiting - 1 WHERE auth_method = OLD.auth_method;
END;

CREATE TRIGGER pending_count_update_enter AFTER UPDATE OF status, auth_method ON pending_enrollment
  WHEN NEW.status = 'pending'
BEGIN
  INSERT INTO pending_count (auth_method, waiting) VALUES (NEW.auth_method, 1)
    ON CONFLICT (auth_method) DO UPDATE SET waiting = waiting + 1;
END;
