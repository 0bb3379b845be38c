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
 * Certificates and devices revoked by an operator ({@code est-server revoke}): revoked
 * certificates no longer authenticate to this server and are not sent again as a retry's answer;
 * a revoked device's manufacturer certificate no longer enrolls. Rows are only added, each with
 * the next row id, so a running server reads the new ones by row id ({@link #since}).
 */
public final class Revocations {
  /** What a running server reads every few seconds: the primary key's range. */
  static final String CERTIFICATES_SINCE =
      "SELECT rowid, serial, revoked_at, reason FROM revoked_certificate WHERE rowid > ? ORDER BY rowid";
  static final String DEVICES_SINCE =
      "SELECT rowid, device_id, revoked_at, reason FROM revoked_device WHERE rowid > ? ORDER BY rowid";
  private static final String CERTIFICATE =
      "SELECT rowid, serial, revoked_at, reason FROM revoked_certificate WHERE serial = ?";
  private static final String DEVICE =
      "SELECT rowid, device_id, revoked_at, reason FROM revoked_device WHERE device_id = ?";

  private final Database database;

  public Revocations(Database database) {
    this.database = database;
  }

  /**
   * A revocation; {@code rowId} orders those of its kind.
   *
   * @param id the certificate's serial, or the device's id
   */
  public record Revocation(long rowId, String id, Instant revokedAt, String reason) {}

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
   * What {@link #revokeDevice} did.
   *
   * @param device the device's revocation, made now or earlier ({@code already})
   * @param certificates its certificates, each with its revocation
   * @param tokensEnded how many of its unused tokens that had not expired were revoked (expired
   *     ones are revoked as well)
   * @param tokensEver how many tokens it was ever given (none: perhaps a mistyped id)
   */
  public record DeviceRevoked(Revocation device, boolean already, List<Revoked> certificates, int tokensEnded,
      int tokensEver) {}

  /**
   * Revokes device {@code deviceId}: every certificate it was issued (expired ones too: a grace
   * period, or a gateway's held request, may still let them renew), its unused tokens, and its
   * manufacturer certificate's enrollments. A token made after this enrolls it again.
   */
  public DeviceRevoked revokeDevice(String deviceId, Instant at, String reason) {
    return database.inTransaction(connection -> {
      Revocation device = find(connection, DEVICE, deviceId).orElse(null);
      boolean already = device != null;
      if (device == null) {
        try (PreparedStatement insert = connection.prepareStatement(
            "INSERT INTO revoked_device (device_id, revoked_at, reason) VALUES (?, ?, ?) RETURNING rowid")) {
          insert.setString(1, deviceId);
          insert.setLong(2, at.toEpochMilli());
          insert.setString(3, reason);
          try (ResultSet row = insert.executeQuery()) {
            row.next();
            device = new Revocation(row.getLong(1), deviceId, at, reason);
          }
        }
      }
      List<IssuanceRecord> certificates = new ArrayList<>();
      try (PreparedStatement select = connection.prepareStatement(
          "SELECT serial FROM issued_certificate WHERE device_id = ? ORDER BY issued_at, serial")) {
        select.setString(1, deviceId);
        try (ResultSet rows = select.executeQuery()) {
          while (rows.next()) {
            certificates.add(IssuedCertificates.find(connection, rows.getString(1)).orElseThrow());
          }
        }
      }
      List<Revoked> revoked = revoke(connection, certificates, at, reason);
      int ended = TokenRecords.revokeUnused(connection, deviceId, at, reason);
      int ever;
      try (PreparedStatement count = connection.prepareStatement(
          "SELECT COUNT(*) FROM bootstrap_token WHERE device_id = ?")) {
        count.setString(1, deviceId);
        try (ResultSet rows = count.executeQuery()) {
          rows.next();
          ever = rows.getInt(1);
        }
      }
      return new DeviceRevoked(device, already, revoked, ended, ever);
    });
  }

  /** The certificate revocations made after row {@code rowId}, in order. */
  public List<Revocation> certificatesSince(long rowId) {
    return since(CERTIFICATES_SINCE, rowId);
  }

  /** The device revocations made after row {@code rowId}, in order. */
  public List<Revocation> devicesSince(long rowId) {
    return since(DEVICES_SINCE, rowId);
  }

  private List<Revocation> since(String query, long rowId) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(query)) {
        select.setLong(1, rowId);
        List<Revocation> found = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
          while (rows.next()) {
            found.add(revocation(rows));
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
      Optional<Revocation> earlier = find(connection, CERTIFICATE, certificate.serial());
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

  private static Optional<Revocation> find(Connection connection, String query, String id) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(query)) {
      select.setString(1, id);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next() ? Optional.of(revocation(rows)) : Optional.empty();
      }
    }
  }

  private static Revocation revocation(ResultSet rows) throws SQLException {
    return new Revocation(rows.getLong(1), rows.getString(2), Instant.ofEpochMilli(rows.getLong(3)), rows.getString(4));
  }
}
