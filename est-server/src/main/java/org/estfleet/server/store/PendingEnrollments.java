package org.estfleet.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A gateway's durable queue of device requests (DESIGN.md section 1). Every change commits
 * before the gateway answers the device, so a restart loses nothing. Changes made by concurrent
 * requests share commits ({@link Database#inSharedTransaction}): one fsync for all of them, with
 * the outcome of making them one after another.
 */
public final class PendingEnrollments {
  private static final String COLUMNS = "id, request_id, device_id, public_key_sha256, label, operation, csr_der, auth_method, "
      + "device_token, device_chain_pem, status, created_at, updated_at, attempts, next_attempt_at, last_error, "
      + "result_status, result_message, certificate_pem, pop_linked, credentials_sha256";

  // The look-ups of each device request and of each forward, held to an index by QueryPlanTest.
  static final String BY_KEY =
      "SELECT " + COLUMNS + " FROM pending_enrollment WHERE device_id = ? AND public_key_sha256 = ? AND label = ?";
  static final String BY_ID = "SELECT " + COLUMNS + " FROM pending_enrollment WHERE id = ?";
  /** How many requests wait, and how many of them by token: kept by V5's triggers, not counted. */
  static final String WAITING = "SELECT COALESCE(SUM(waiting), 0), "
      + "COALESCE(SUM(CASE WHEN auth_method = 'token' THEN waiting ELSE 0 END), 0) FROM pending_count";
  /**
   * The forwarder's batch: the requests due longest first, in the order of the index, so that a
   * batch reads only the rows it takes. A request never tried is due from its arrival, so those
   * go in the order they came.
   */
  static final String DUE = "SELECT " + COLUMNS
      + " FROM pending_enrollment WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?";
  /** GET /health's figures: two kept counts (V5, V6) and the first entry of an index (V6). */
  static final String DEPTH = "SELECT (SELECT COALESCE(SUM(waiting), 0) FROM pending_count), "
      + "(SELECT COALESCE(SUM(answered), 0) FROM answered_count), "
      + "(SELECT MIN(created_at) FROM pending_enrollment WHERE status = 'pending')";
  // Expiry, every forwarding round: each by an index in the order it deletes (V6, V7). The
  // answered term repeats V7's partial index's WHERE clause word for word, which is what lets
  // SQLite use that index.
  static final String EXPIRE_PENDING = "DELETE FROM pending_enrollment WHERE status = 'pending' AND created_at < ?";
  static final String EXPIRE_ANSWERED =
      "DELETE FROM pending_enrollment WHERE status <> 'pending' AND updated_at < ?";

  private final Database database;

  public PendingEnrollments(Database database) {
    this.database = database;
  }

  /** The outcome of {@link #accept}. */
  public enum Admission {
    /** A new record was stored. */
    STORED,
    /** A record for this device, key and label existed already; it is returned unchanged. */
    EXISTING,
    /** The queue is full; nothing was stored. */
    FULL
  }

  /**
   * What {@link #accept} did, and the record it concerns (absent when the queue was full).
   *
   * @param waiting when full: the requests waiting
   * @param waitingByToken when full: those of them authenticated by a token
   */
  public record Accepted(Admission admission, Optional<PendingEnrollment> record, long waiting, long waitingByToken) {
    Accepted(Admission admission, Optional<PendingEnrollment> record) {
      this(admission, record, 0, 0);
    }
  }

  /**
   * Stores a new request unless one for the same device, key and label exists, in which case
   * that one is returned: a device that retries with the same CSR finds its request.
   *
   * @param requestId a new random name for the request, unique to it
   * @param limit the most pending requests the queue holds
   * @param tokenLimit the most pending requests authenticated by a token, which the gateway cannot
   *     check: anyone can send one, so they may not fill the whole queue
   * @param popLinked whether the CSR was checked to be linked to the device's TLS connection
   */
  public Accepted accept(String requestId, String deviceId, String publicKeySha256, String label, String operation, byte[] csrDer,
      String authMethod, String deviceToken, String deviceChainPem, boolean popLinked, Instant now, int limit,
      int tokenLimit) {
    byte[] credentialsSha256 = PendingEnrollment.credentialsDigest(deviceToken, deviceChainPem);
    return database.inSharedTransaction(connection -> {
      Optional<PendingEnrollment> existing = find(connection, deviceId, publicKeySha256, label);
      if (existing.isPresent()) {
        return new Accepted(Admission.EXISTING, existing);
      }
      try (PreparedStatement count = connection.prepareStatement(WAITING);
          ResultSet rows = count.executeQuery()) {
        rows.next();
        if (rows.getLong(1) >= limit || ("token".equals(authMethod) && rows.getLong(2) >= tokenLimit)) {
          return new Accepted(Admission.FULL, Optional.empty(), rows.getLong(1), rows.getLong(2));
        }
      }
      try (PreparedStatement insert = connection.prepareStatement(
          "INSERT INTO pending_enrollment (device_id, public_key_sha256, label, operation, csr_der, auth_method, "
              + "device_token, device_chain_pem, status, created_at, updated_at, attempts, next_attempt_at, request_id, "
              + "pop_linked, credentials_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 0, ?, ?, ?, ?)")) {
        insert.setString(1, deviceId);
        insert.setString(2, publicKeySha256);
        insert.setString(3, label);
        insert.setString(4, operation);
        insert.setBytes(5, csrDer);
        insert.setString(6, authMethod);
        setNullable(insert, 7, deviceToken);
        setNullable(insert, 8, deviceChainPem);
        insert.setLong(9, now.toEpochMilli());
        insert.setLong(10, now.toEpochMilli());
        insert.setLong(11, now.toEpochMilli());
        insert.setString(12, requestId);
        insert.setInt(13, popLinked ? 1 : 0);
        insert.setBytes(14, credentialsSha256);
        insert.executeUpdate();
      }
      return new Accepted(Admission.STORED, find(connection, deviceId, publicKeySha256, label));
    });
  }

  /** The record of a device, key and label, if any. */
  public Optional<PendingEnrollment> find(String deviceId, String publicKeySha256, String label) {
    return database.read(connection -> find(connection, deviceId, publicKeySha256, label));
  }

  public Optional<PendingEnrollment> byId(long id) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(BY_ID)) {
        select.setLong(1, id);
        List<PendingEnrollment> records = readAll(select);
        return records.stream().findFirst();
      }
    });
  }

  /** Pending requests whose next attempt is due, those due longest first. */
  public List<PendingEnrollment> due(Instant now, int max) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(DUE)) {
        select.setLong(1, now.toEpochMilli());
        select.setInt(2, max);
        return readAll(select);
      }
    });
  }

  /**
   * Records the upstream's certificate. Only a pending record changes: an answer already
   * recorded (by a forward that raced this one) is never overwritten.
   *
   * @return whether this call recorded it
   */
  public boolean issued(long id, String certificatePem, Instant now) {
    return database.inSharedTransaction(connection -> {
      try (PreparedStatement update = connection.prepareStatement("UPDATE pending_enrollment SET status = 'issued', "
          + "certificate_pem = ?, device_token = NULL, updated_at = ?, last_error = NULL WHERE id = ? AND status = 'pending'")) {
        update.setString(1, certificatePem);
        update.setLong(2, now.toEpochMilli());
        update.setLong(3, id);
        return update.executeUpdate() == 1;
      }
    });
  }

  /**
   * Records that the device is given the issued certificate of request {@code id}. Records issued
   * before migration V9 have no delivery recorded: their next delivery counts as the first.
   *
   * @return false if it was given before (a resend); true for the first delivery, and for a
   *     record no longer there (expired or replaced meanwhile: this delivery is its only one)
   */
  public boolean delivered(long id, Instant now) {
    return database.inSharedTransaction(connection -> {
      try (PreparedStatement update = connection.prepareStatement("UPDATE pending_enrollment SET delivered_at = ? "
          + "WHERE id = ? AND status = 'issued' AND delivered_at IS NULL")) {
        update.setLong(1, now.toEpochMilli());
        update.setLong(2, id);
        if (update.executeUpdate() == 1) {
          return true;
        }
      }
      try (PreparedStatement select = connection.prepareStatement(
          "SELECT 1 FROM pending_enrollment WHERE id = ? AND delivered_at IS NOT NULL")) {
        select.setLong(1, id);
        try (ResultSet rows = select.executeQuery()) {
          return !rows.next();
        }
      }
    });
  }

  /**
   * Records the upstream's refusal, for the device to learn on its next retry. The token is wiped;
   * the digest of the credentials refused is kept, and made now for a request stored before
   * migration V10 that has none, while its token is still there.
   */
  public boolean refused(long id, int status, String message, Instant now) {
    return database.inSharedTransaction(connection -> {
      byte[] refusedCredentials = null;
      try (PreparedStatement select = connection.prepareStatement("SELECT device_token, device_chain_pem "
          + "FROM pending_enrollment WHERE id = ? AND status = 'pending' AND credentials_sha256 IS NULL")) {
        select.setLong(1, id);
        try (ResultSet rows = select.executeQuery()) {
          if (rows.next()) {
            refusedCredentials = PendingEnrollment.credentialsDigest(rows.getString(1), rows.getString(2));
          }
        }
      }
      try (PreparedStatement update = connection.prepareStatement("UPDATE pending_enrollment SET status = 'refused', "
          + "result_status = ?, result_message = ?, device_token = NULL, updated_at = ?, "
          + "credentials_sha256 = COALESCE(credentials_sha256, ?) WHERE id = ? AND status = 'pending'")) {
        update.setInt(1, status);
        update.setString(2, message);
        update.setLong(3, now.toEpochMilli());
        update.setBytes(4, refusedCredentials);
        update.setLong(5, id);
        return update.executeUpdate() == 1;
      }
    });
  }

  /** Records a failed forward and when to try again. */
  public void retryLater(long id, String error, Instant next, Instant now) {
    database.inSharedTransaction(connection -> {
      try (PreparedStatement update = connection.prepareStatement("UPDATE pending_enrollment SET attempts = attempts + 1, "
          + "last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'")) {
        update.setString(1, error);
        update.setLong(2, next.toEpochMilli());
        update.setLong(3, now.toEpochMilli());
        update.setLong(4, id);
        return update.executeUpdate();
      }
    });
  }

  /** Deletes a record: collected by the device, or too old. */
  public void delete(long id) {
    database.inSharedTransaction(connection -> {
      try (PreparedStatement delete = connection.prepareStatement("DELETE FROM pending_enrollment WHERE id = ?")) {
        delete.setLong(1, id);
        return delete.executeUpdate();
      }
    });
  }

  /**
   * Deletes pending records created before {@code pendingBefore} and answered ones not collected
   * since {@code answeredBefore}.
   *
   * @return how many were deleted
   */
  public int expire(Instant pendingBefore, Instant answeredBefore) {
    return database.inSharedTransaction(connection -> {
      int deleted = 0;
      try (PreparedStatement delete = connection.prepareStatement(EXPIRE_PENDING)) {
        delete.setLong(1, pendingBefore.toEpochMilli());
        deleted += delete.executeUpdate();
      }
      try (PreparedStatement delete = connection.prepareStatement(EXPIRE_ANSWERED)) {
        delete.setLong(1, answeredBefore.toEpochMilli());
        deleted += delete.executeUpdate();
      }
      return deleted;
    });
  }

  /** Queue figures for health. */
  public record Depth(long pending, long answered, Instant oldestPending) {}

  public Depth depth() {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(DEPTH);
          ResultSet rows = select.executeQuery()) {
        rows.next();
        long oldest = rows.getLong(3);
        Instant oldestPending = rows.wasNull() ? null : Instant.ofEpochMilli(oldest);
        return new Depth(rows.getLong(1), rows.getLong(2), oldestPending);
      }
    });
  }

  private static Optional<PendingEnrollment> find(Connection connection, String deviceId, String publicKeySha256,
      String label) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(BY_KEY)) {
      select.setString(1, deviceId);
      select.setString(2, publicKeySha256);
      select.setString(3, label);
      return readAll(select).stream().findFirst();
    }
  }

  private static List<PendingEnrollment> readAll(PreparedStatement select) throws SQLException {
    List<PendingEnrollment> records = new ArrayList<>();
    try (ResultSet rows = select.executeQuery()) {
      while (rows.next()) {
        int resultStatus = rows.getInt(17);
        Integer status = rows.wasNull() ? null : resultStatus;
        records.add(new PendingEnrollment(rows.getLong(1), rows.getString(2), rows.getString(3), rows.getString(4),
            rows.getString(5), rows.getString(6), rows.getBytes(7), rows.getString(8), rows.getString(9),
            rows.getString(10), PendingEnrollment.Status.of(rows.getString(11)), Instant.ofEpochMilli(rows.getLong(12)),
            Instant.ofEpochMilli(rows.getLong(13)), rows.getInt(14), Instant.ofEpochMilli(rows.getLong(15)),
            rows.getString(16), status, rows.getString(18), rows.getString(19), rows.getInt(20) != 0,
            rows.getBytes(21)));
      }
    }
    return records;
  }

  private static void setNullable(PreparedStatement statement, int index, String value) throws SQLException {
    if (value == null) {
      statement.setNull(index, Types.VARCHAR);
    } else {
      statement.setString(index, value);
    }
  }
}
