package org.estfleet.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Certificates revoked by an operator ({@code est-server revoke}): they no longer authenticate to
 * this server, and are not sent again as a retry's answer. Rows are only added, each with the
 * next row id, so a running server reads the new ones by row id ({@link #since}).
 */
public final class Revocations {
  /** What {@link #since} reads every few seconds in a running server: the primary key's range. */
  static final String SINCE = "SELECT rowid, serial, revoked_at, reason FROM revoked_certificate WHERE rowid > ? "
      + "ORDER BY rowid";

  private final Database database;

  public Revocations(Database database) {
    this.database = database;
  }

  /** A revoked certificate; {@code rowId} orders revocations. */
  public record Revocation(long rowId, String serial, Instant revokedAt, String reason) {}

  /** A certificate of the ledger that a revocation named, and whether it was revoked before. */
  public record Revoked(IssuanceRecord certificate, Revocation revocation, boolean already) {}

  /**
   * Revokes the certificates {@code serials}, all or none: each must be in the ledger.
   *
   * @return each certificate with its revocation, made now or earlier
   * @throws IllegalArgumentException naming a serial the ledger does not have; nothing revoked
   */
  public List<Revoked> revoke(List<String> serials, Instant at, String reason) {
    return database.inTransaction(connection -> {
      List<IssuanceRecord> certificates = new ArrayList<>();
      for (String serial : serials) {
        certificates.add(IssuedCertificates.find(connection, serial).orElseThrow(() ->
            new IllegalArgumentException("no certificate with serial " + serial + " in this server's ledger")));
      }
      return revoke(connection, certificates, at, reason);
    });
  }

  /**
   * Revokes every certificate issued to {@code deviceId} that has not expired at {@code at}, and
   * makes its unused tokens expire then: the device can enroll again only with a token made after.
   *
   * @return the certificates, and how many tokens were ended
   */
  public DeviceRevoked revokeDevice(String deviceId, Instant at, String reason) {
    return database.inTransaction(connection -> {
      List<IssuanceRecord> certificates = new ArrayList<>();
      try (PreparedStatement select = connection.prepareStatement("SELECT serial FROM issued_certificate "
          + "WHERE device_id = ? AND not_after > ? ORDER BY issued_at")) {
        select.setString(1, deviceId);
        select.setLong(2, at.toEpochMilli());
        try (ResultSet rows = select.executeQuery()) {
          while (rows.next()) {
            certificates.add(IssuedCertificates.find(connection, rows.getString(1)).orElseThrow());
          }
        }
      }
      List<Revoked> revoked = revoke(connection, certificates, at, reason);
      int tokens;
      try (PreparedStatement expire = connection.prepareStatement("UPDATE bootstrap_token SET expires_at = ? "
          + "WHERE device_id = ? AND used_at IS NULL AND expires_at > ?")) {
        expire.setLong(1, at.toEpochMilli());
        expire.setString(2, deviceId);
        expire.setLong(3, at.toEpochMilli());
        tokens = expire.executeUpdate();
      }
      return new DeviceRevoked(revoked, tokens);
    });
  }

  /** What {@link #revokeDevice} did. */
  public record DeviceRevoked(List<Revoked> certificates, int tokensEnded) {}

  /** The revocations made after row {@code rowId}, in order. */
  public List<Revocation> since(long rowId) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(SINCE)) {
        select.setLong(1, rowId);
        List<Revocation> found = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
          while (rows.next()) {
            found.add(new Revocation(rows.getLong(1), rows.getString(2), Instant.ofEpochMilli(rows.getLong(3)),
                rows.getString(4)));
          }
        }
        return found;
      }
    });
  }

  private static List<Revoked> revoke(Connection connection, List<IssuanceRecord> certificates, Instant at,
      String reason) throws SQLException {
    List<Revoked> revoked = new ArrayList<>();
    for (IssuanceRecord certificate : certificates) {
      Optional<Revocation> earlier = find(connection, certificate.serial());
      if (earlier.isPresent()) {
        revoked.add(new Revoked(certificate, earlier.get(), true));
        continue;
      }
      try (PreparedStatement insert = connection.prepareStatement(
          "INSERT INTO revoked_certificate (serial, revoked_at, reason) VALUES (?, ?, ?) RETURNING rowid")) {
        insert.setString(1, certificate.serial());
        insert.setLong(2, at.toEpochMilli());
        insert.setString(3, reason);
        try (ResultSet row = insert.executeQuery()) {
          row.next();
          revoked.add(new Revoked(certificate, new Revocation(row.getLong(1), certificate.serial(), at, reason), false));
        }
      }
    }
    return revoked;
  }

  private static Optional<Revocation> find(Connection connection, String serial) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(
        "SELECT rowid, serial, revoked_at, reason FROM revoked_certificate WHERE serial = ?")) {
      select.setString(1, serial);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next()
            ? Optional.of(new Revocation(rows.getLong(1), rows.getString(2), Instant.ofEpochMilli(rows.getLong(3)),
                rows.getString(4)))
            : Optional.empty();
      }
    }
  }
}
