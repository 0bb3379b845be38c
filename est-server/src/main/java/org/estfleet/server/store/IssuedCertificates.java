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

/** The ledger of every certificate issued: written before a certificate leaves the server. */
public final class IssuedCertificates {
  private static final String COLUMNS =
      "serial, device_id, subject, label, not_before, not_after, issued_at, auth_method, "
          + "auth_detail, public_key_sha256, certificate_pem, forwarded_by, request_id, role";

  // The look-ups each request makes, each held to an index by QueryPlanTest.
  static final String SERIAL_TAKEN = "SELECT 1 FROM issued_certificate WHERE serial = ?";
  private static final String CERTIFICATE_REVOKED = "SELECT 1 FROM revoked_certificate WHERE serial = ?";
  private static final String DEVICE_REVOKED = "SELECT 1 FROM revoked_device WHERE device_id = ?";
  static final String REQUEST_TAKEN = "SELECT 1 FROM issued_certificate WHERE forwarded_by = ? AND request_id = ?";
  static final String CONSUME_TOKEN =
      "UPDATE bootstrap_token SET used_at = ?, used_by_serial = ? WHERE id = ? AND used_at IS NULL "
          + "AND revoked_at IS NULL";
  static final String BY_SERIAL = "SELECT " + COLUMNS + " FROM issued_certificate WHERE serial = ?";
  /** A revoked certificate is not the answer to a gateway's request sent again (V12). */
  static final String BY_REQUEST = "SELECT " + COLUMNS + " FROM issued_certificate WHERE forwarded_by = ? "
      + "AND request_id = ? AND serial NOT IN (SELECT serial FROM revoked_certificate)";
  /** A revoked certificate is not the answer to a retry (V12). */
  private static final String RETRY_WHERE =
      "WHERE device_id = ? AND public_key_sha256 = ? AND auth_detail = ? AND label = ? AND not_after > ? "
          + "AND serial NOT IN (SELECT serial FROM revoked_certificate)";
  /** {@link #findRetry}'s query: it must search the retry index on both its first columns (V4). */
  static final String RETRY_QUERY = "SELECT " + COLUMNS + " FROM issued_certificate " + RETRY_WHERE
      + " ORDER BY issued_at DESC LIMIT 1";
  /** Whether {@link #RETRY_QUERY} would find a row: what the write transaction asks, reading no columns. */
  static final String RETRY_EXISTS = "SELECT 1 FROM issued_certificate " + RETRY_WHERE + " LIMIT 1";
  /** A revoked certificate of a device for a key: the retry index, then one probe per candidate (V12). */
  static final String REVOKED_FOR_KEY = "SELECT serial FROM issued_certificate WHERE device_id = ? "
      + "AND public_key_sha256 = ? AND serial IN (SELECT serial FROM revoked_certificate) LIMIT 1";
  /**
   * How many certificates were issued (GET /health asks): the ledger is append-only and each new
   * row takes the next row id, so the highest is the count, found without reading the rows (V8).
   */
  static final String COUNT = "SELECT COALESCE(MAX(rowid), 0) FROM issued_certificate";
  private static final String VALID_BY_IDENTITY = "SELECT device_id, label, role, issued_at, not_after, "
      + "CASE WHEN issued_at >= ? THEN certificate_pem END FROM issued_certificate c "
      + "WHERE role <> 'server' AND not_after > ? "
      + "AND NOT EXISTS (SELECT 1 FROM revoked_certificate r WHERE r.serial = c.serial) "
      + "AND NOT EXISTS (SELECT 1 FROM revoked_device d WHERE d.device_id = c.device_id AND d.revoked_at >= c.issued_at) "
      + "ORDER BY device_id, label, role";

  private final Database database;

  public IssuedCertificates(Database database) {
    this.database = database;
  }

  /** What became of {@link #record}. */
  public enum Outcome {
    /** Recorded, and the token (if any) consumed; the certificate may be sent. */
    RECORDED,
    /** Nothing written: the token was consumed by another request first. */
    TOKEN_ALREADY_USED,
    /** Nothing written: an operator revoked the token since it was checked. */
    TOKEN_REVOKED,
    /**
     * Nothing written: an operator revoked the credential since it was checked (the certificate
     * of this CA that authenticated, or the device an IDevID enrolls, {@code revoke --device}).
     */
    CREDENTIAL_REVOKED,
    /** Nothing written: the serial number is already taken. Sign again with a new one. */
    DUPLICATE_SERIAL,
    /**
     * Nothing written: the gateway's request was recorded already (it forwarded the same request
     * twice); {@link #findForwarded} has the certificate issued the first time.
     */
    DUPLICATE_REQUEST,
    /**
     * Nothing written: a certificate of the same device for the same key was revoked (its key
     * may have leaked); {@link #revokedForKey} names it. A new key is needed.
     */
    KEY_REVOKED,
    /**
     * Nothing written ({@link #recordUnlessRetry} only): the same requester, by the same credential
     * and under the same label, was issued a certificate for the same key that is still valid;
     * {@link #findRetry} has it.
     */
    RETRY
  }

  /**
   * Records an issuance and consumes its bootstrap token in one durable transaction, so that a
   * token can never yield two certificates, even to concurrent requests. Issuances that arrive
   * together share a transaction and its fsync ({@link Database#inSharedTransaction}).
   */
  public Outcome record(IssuanceRecord record) {
    return record(record, Credential.NONE, false);
  }

  /**
   * What authenticated a request, as far as an operator can revoke it: checked again in the
   * write transaction ({@link Outcome#CREDENTIAL_REVOKED}). The server checked its revocations at
   * authentication, as it knew them ({@code est-server revoke} reaches it within seconds); without
   * this, a certificate issued meanwhile on a revoked credential would escape the {@code revoke
   * --device} that revoked the device's others.
   *
   * @param certificateSerial the serial (lower-case hex) of this CA's certificate that
   *     authenticated, or null
   * @param idevidDevices every name of the device an IDevID enrolls (as {@code revoke --device}
   *     may name it), none for other credentials: refused once one of them is revoked
   */
  public record Credential(String certificateSerial, List<String> idevidDevices) {
    /** Nothing an operator revokes (a token is checked as it is consumed). */
    public static final Credential NONE = new Credential(null, List.of());

    public Credential {
      idevidDevices = List.copyOf(idevidDevices);
    }
  }

  /** As {@link #record(IssuanceRecord)}, refused once {@code credential} is revoked. */
  public Outcome record(IssuanceRecord record, Credential credential) {
    return record(record, credential, false);
  }

  /**
   * As {@link #record}, unless the record's requester asked before for its key by the same
   * credential and under the same label and that certificate is still valid at the record's
   * issuance time ({@link #findRetry}): then {@link Outcome#RETRY} and nothing written. Looked up
   * in the write transaction, so two such requests at once cannot both be recorded.
   */
  public Outcome recordUnlessRetry(IssuanceRecord record, Credential credential) {
    return record(record, credential, true);
  }

  private Outcome record(IssuanceRecord record, Credential credential, boolean unlessRetry) {
    // Write transactions begin IMMEDIATE (see Database): this one holds the write lock from its
    // first statement, so the checks below cannot race another writer, and an outcome other
    // than RECORDED returns before anything was written. In a shared transaction, the checks
    // see the records written before this one in it.
    return database.inSharedTransaction(connection -> {
      try (PreparedStatement select = connection.prepareStatement(SERIAL_TAKEN)) {
        select.setString(1, record.serial());
        try (ResultSet rows = select.executeQuery()) {
          if (rows.next()) {
            return Outcome.DUPLICATE_SERIAL;
          }
        }
      }
      if (unlessRetry) {
        try (PreparedStatement select = retryQuery(connection, RETRY_EXISTS, record.deviceId(),
            record.publicKeySha256(), record.authDetail(), record.label(), record.issuedAt());
            ResultSet rows = select.executeQuery()) {
          if (rows.next()) {
            return Outcome.RETRY;
          }
        }
      }
      if (record.requestId() != null) {
        try (PreparedStatement select = connection.prepareStatement(REQUEST_TAKEN)) {
          select.setString(1, record.forwardedBy());
          select.setString(2, record.requestId());
          try (ResultSet rows = select.executeQuery()) {
            if (rows.next()) {
              return Outcome.DUPLICATE_REQUEST;
            }
          }
        }
      }
      // After RETRY and DUPLICATE_REQUEST: what they find was issued before, and is the answer
      // unless it was revoked itself (revoke --device revokes it with the credential).
      if (revoked(connection, credential)) {
        return Outcome.CREDENTIAL_REVOKED;
      }
      if (revokedForKey(connection, record.deviceId(), record.publicKeySha256()).isPresent()) {
        return Outcome.KEY_REVOKED;
      }
      if (record.tokenId() != null && !consumeToken(connection, record)) {
        boolean used = TokenRecords.find(connection, record.tokenId()).map(token -> token.usedAt() != null)
            .orElse(false);
        return used ? Outcome.TOKEN_ALREADY_USED : Outcome.TOKEN_REVOKED;
      }
      try (PreparedStatement insert = connection.prepareStatement(
          "INSERT INTO issued_certificate (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
        insert.setString(1, record.serial());
        insert.setString(2, record.deviceId());
        insert.setString(3, record.subject());
        insert.setString(4, record.label());
        insert.setLong(5, record.notBefore().toEpochMilli());
        insert.setLong(6, record.notAfter().toEpochMilli());
        insert.setLong(7, record.issuedAt().toEpochMilli());
        insert.setString(8, record.authMethod());
        insert.setString(9, record.authDetail());
        insert.setString(10, record.publicKeySha256());
        insert.setString(11, record.certificatePem());
        setNullable(insert, 12, record.forwardedBy());
        setNullable(insert, 13, record.requestId());
        insert.setString(14, record.role().column());
        insert.executeUpdate();
      }
      return Outcome.RECORDED;
    });
  }

  private static boolean revoked(Connection connection, Credential credential) throws SQLException {
    String serial = credential.certificateSerial();
    if (serial != null && exists(connection, CERTIFICATE_REVOKED, serial)) {
      return true;
    }
    for (String device : credential.idevidDevices()) {
      if (exists(connection, DEVICE_REVOKED, device)) {
        return true;
      }
    }
    return false;
  }

  private static boolean exists(Connection connection, String query, String value) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(query)) {
      select.setString(1, value);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next();
      }
    }
  }

  private static boolean consumeToken(Connection connection, IssuanceRecord record) throws SQLException {
    try (PreparedStatement update = connection.prepareStatement(CONSUME_TOKEN)) {
      update.setLong(1, record.issuedAt().toEpochMilli());
      update.setString(2, record.serial());
      update.setLong(3, record.tokenId());
      return update.executeUpdate() == 1;
    }
  }

  /** The record of a serial number (lower-case hex), if this server issued it. */
  public Optional<IssuanceRecord> find(String serial) {
    return database.read(connection -> find(connection, serial));
  }

  /** As {@link #find(String)}, in a transaction of the caller's. */
  static Optional<IssuanceRecord> find(Connection connection, String serial) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(BY_SERIAL)) {
      select.setString(1, serial);
      return readAll(select).stream().findFirst();
    }
  }

  /** The serial of a revoked certificate of {@code deviceId} for the key with that SHA-256, if any. */
  public Optional<String> revokedForKey(String deviceId, String publicKeySha256) {
    return database.read(connection -> revokedForKey(connection, deviceId, publicKeySha256));
  }

  private static Optional<String> revokedForKey(Connection connection, String deviceId, String publicKeySha256)
      throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(REVOKED_FOR_KEY)) {
      select.setString(1, deviceId);
      select.setString(2, publicKeySha256);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next() ? Optional.of(rows.getString(1)) : Optional.empty();
      }
    }
  }

  /** The bootstrap token with that number, if there is one (a revoked one's time and reason, say). */
  public Optional<TokenRecords.TokenRecord> token(long id) {
    return database.read(connection -> TokenRecords.find(connection, id));
  }

  /** The certificate issued for a gateway's request, if it was recorded and is not revoked. */
  public Optional<IssuanceRecord> findForwarded(String forwardedBy, String requestId) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(BY_REQUEST)) {
        select.setString(1, forwardedBy);
        select.setString(2, requestId);
        return readAll(select).stream().findFirst();
      }
    });
  }

  /**
   * The newest certificate, still valid at {@code now}, issued to a device for a key under the
   * same credential and label: what a client that lost the answer gets when it asks again.
   */
  public Optional<IssuanceRecord> findRetry(String deviceId, String publicKeySha256, String authDetail, String label,
      Instant now) {
    return database.read(connection -> {
      try (PreparedStatement select =
          retryQuery(connection, RETRY_QUERY, deviceId, publicKeySha256, authDetail, label, now)) {
        return readAll(select).stream().findFirst();
      }
    });
  }

  private static PreparedStatement retryQuery(Connection connection, String sql, String deviceId,
      String publicKeySha256, String authDetail, String label, Instant now) throws SQLException {
    PreparedStatement select = connection.prepareStatement(sql);
    try {
      select.setString(1, deviceId);
      select.setString(2, publicKeySha256);
      select.setString(3, authDetail);
      select.setString(4, label);
      select.setLong(5, now.toEpochMilli());
      return select;
    } catch (SQLException | RuntimeException e) {
      try {
        select.close();
      } catch (SQLException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  /** Every certificate issued to a device, oldest first. */
  public List<IssuanceRecord> byDevice(String deviceId) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(
          "SELECT " + COLUMNS + " FROM issued_certificate WHERE device_id = ? ORDER BY issued_at, serial")) {
        select.setString(1, deviceId);
        return readAll(select);
      }
    });
  }

  /** Every certificate issued, by device, oldest first. */
  public List<IssuanceRecord> all() {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(
          "SELECT " + COLUMNS + " FROM issued_certificate ORDER BY device_id, issued_at, serial")) {
        return readAll(select);
      }
    });
  }

  /**
   * A certificate still valid, as {@link #forEachValid} reads it.
   *
   * @param certificatePem the certificate, for those issued at or after the scan's {@code pemSince}; else null
   */
  public record Valid(String deviceId, String label, Role role, Instant issuedAt, Instant notAfter,
      String certificatePem) {}

  /**
   * Calls {@code consumer} with every certificate valid at {@code now} and not revoked (nor its
   * device since it was issued), except this server's own, ordered by identity (device, label,
   * role): one pass over the ledger, for an operator's command, not a request's look-up.
   *
   * @param pemSince the certificates issued from when on are read with their PEM
   */
  public void forEachValid(Instant now, Instant pemSince, java.util.function.Consumer<Valid> consumer) {
    database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(VALID_BY_IDENTITY)) {
        select.setLong(1, pemSince.toEpochMilli());
        select.setLong(2, now.toEpochMilli());
        try (ResultSet rows = select.executeQuery()) {
          while (rows.next()) {
            consumer.accept(new Valid(rows.getString(1), rows.getString(2), Role.of(rows.getString(3)),
                Instant.ofEpochMilli(rows.getLong(4)), Instant.ofEpochMilli(rows.getLong(5)), rows.getString(6)));
          }
        }
      }
      return null;
    });
  }

  /** How many certificates have been issued. */
  public long count() {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(COUNT);
          ResultSet rows = select.executeQuery()) {
        return rows.next() ? rows.getLong(1) : 0;
      }
    });
  }

  private static void setNullable(PreparedStatement statement, int index, String value) throws SQLException {
    if (value == null) {
      statement.setNull(index, Types.VARCHAR);
    } else {
      statement.setString(index, value);
    }
  }

  private static List<IssuanceRecord> readAll(PreparedStatement select) throws SQLException {
    List<IssuanceRecord> records = new ArrayList<>();
    try (ResultSet rows = select.executeQuery()) {
      while (rows.next()) {
        records.add(new IssuanceRecord(
            rows.getString(1),
            rows.getString(2),
            rows.getString(3),
            rows.getString(4),
            Instant.ofEpochMilli(rows.getLong(5)),
            Instant.ofEpochMilli(rows.getLong(6)),
            Instant.ofEpochMilli(rows.getLong(7)),
            rows.getString(8),
            rows.getString(9),
            null,
            rows.getString(10),
            rows.getString(11),
            rows.getString(12),
            rows.getString(13),
            Role.of(rows.getString(14))));
      }
    }
    return records;
  }
}
