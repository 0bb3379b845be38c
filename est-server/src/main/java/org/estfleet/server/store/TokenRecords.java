package org.estfleet.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** Stored bootstrap tokens: hashes only; consumption happens in {@link IssuedCertificates#record}. */
public final class TokenRecords {
  /** Tokens read per read by {@link #forEach}. */
  private static final int LIST_BATCH = 1000;
  private static final String COLUMNS = "id, device_id, token_sha256, created_at, expires_at, used_at, role, label, "
      + "used_by_serial, revoked_at, revoked_reason";
  /** The look-up of a device's tokens at each token enrollment, held to an index by QueryPlanTest. */
  static final String BY_DEVICE =
      "SELECT " + COLUMNS + " FROM bootstrap_token WHERE device_id = ?";

  private final Database database;

  public TokenRecords(Database database) {
    this.database = database;
  }

  /**
   * A stored token.
   *
   * @param usedAt when it was consumed, or null
   * @param label the EST label it enrolls under, {@code ""} for requests without one; null for a
   *     token made before tokens had labels (migration V11), usable under any
   * @param usedBySerial the serial of the certificate it was used for, or null
   * @param revokedAt when an operator ended it unused (migration V13), or null
   * @param revokedReason why, or null
   */
  public record TokenRecord(long id, String deviceId, byte[] sha256, Instant createdAt, Instant expiresAt, Instant usedAt,
      Role role, String label, String usedBySerial, Instant revokedAt, String revokedReason) {
    public TokenRecord {
      sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
      return sha256.clone();
    }
  }

  /**
   * Stores new tokens' hashes, {@code sha256s[i]} for {@code deviceIds[i]}, all in one
   * transaction (all or none), all for {@code label} ({@code ""}: without one), and returns their
   * ids in the same order.
   */
  public List<Long> insertAll(List<String> deviceIds, List<byte[]> sha256s, Instant createdAt, Instant expiresAt,
      Role role, String label) {
    java.util.Objects.requireNonNull(label, "label");
    if (deviceIds.size() != sha256s.size()) {
      throw new IllegalArgumentException(deviceIds.size() + " device ids for " + sha256s.size() + " hashes");
    }
    return database.inTransaction(connection -> {
      List<Long> ids = new java.util.ArrayList<>(deviceIds.size());
      try (PreparedStatement insert = connection.prepareStatement("INSERT INTO bootstrap_token "
          + "(device_id, token_sha256, created_at, expires_at, role, label) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")) {
        for (int i = 0; i < deviceIds.size(); i++) {
          insert.setString(1, deviceIds.get(i));
          insert.setBytes(2, sha256s.get(i));
          insert.setLong(3, createdAt.toEpochMilli());
          insert.setLong(4, expiresAt.toEpochMilli());
          insert.setString(5, role.column());
          insert.setString(6, label);
          try (ResultSet inserted = insert.executeQuery()) {
            inserted.next();
            ids.add(inserted.getLong(1));
          }
        }
      }
      return ids;
    });
  }

  /** Every token issued for a device, used or not. */
  public List<TokenRecord> byDevice(String deviceId) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(BY_DEVICE)) {
        select.setString(1, deviceId);
        return readAll(select);
      }
    });
  }

  /**
   * Every token, or every token of {@code deviceId} if not null, in the order they were made,
   * each handed to {@code each} as it is read, until it returns false. Read in batches, each its
   * own short read: a store may hold millions, and a reader slower than the store (a pager) must
   * not hold one snapshot open while a running server writes.
   */
  public void forEach(String deviceId, Predicate<TokenRecord> each) {
    String query = "SELECT " + COLUMNS + " FROM bootstrap_token WHERE id > ?"
        + (deviceId == null ? "" : " AND device_id = ?") + " ORDER BY id LIMIT " + LIST_BATCH;
    long after = 0;
    while (true) {
      long from = after;
      List<TokenRecord> batch = database.read(connection -> {
        try (PreparedStatement select = connection.prepareStatement(query)) {
          select.setLong(1, from);
          if (deviceId != null) {
            select.setString(2, deviceId);
          }
          return readAll(select);
        }
      });
      for (TokenRecord token : batch) {
        if (!each.test(token)) {
          return;
        }
      }
      if (batch.size() < LIST_BATCH) {
        return;
      }
      after = batch.get(batch.size() - 1).id();
    }
  }

  /** A token {@code revoke} found, and whether it was revoked before. */
  public record Revoked(TokenRecord token, boolean already) {}

  /**
   * Ends the unused tokens {@code ids}, all or none: each must exist and be unused (a used one
   * made a certificate, which is what to revoke). Ended tokens are refused as revoked, with
   * {@code reason}; expired ones are marked all the same.
   *
   * @return each token as it is now, in the order given
   * @throws IllegalArgumentException naming a token that does not exist or was used; nothing revoked
   */
  public List<Revoked> revoke(List<Long> ids, Instant at, String reason) {
    return database.inTransaction(connection -> {
      List<Revoked> revoked = new ArrayList<>();
      for (long id : ids) {
        TokenRecord token = find(connection, id).orElseThrow(() ->
            new IllegalArgumentException("no token #" + id + " in this server's store"));
        if (token.usedAt() != null) {
          throw new IllegalArgumentException("token #" + id + " of " + token.deviceId() + " was used at "
              + token.usedAt() + " for the certificate with serial " + token.usedBySerial()
              + ": revoke that certificate (--serial " + token.usedBySerial() + ")");
        }
        revoked.add(new Revoked(token, token.revokedAt() != null));
      }
      List<Revoked> now = new ArrayList<>();
      for (Revoked token : revoked) {
        if (!token.already()) {
          revoke(connection, token.token().id(), at, reason);
        }
        now.add(new Revoked(find(connection, token.token().id()).orElseThrow(), token.already()));
      }
      return now;
    });
  }

  /**
   * Revokes every unused, not yet revoked token of {@code deviceId}, expired ones too (a request
   * checked just before its token expired may still be consuming it), in a transaction of the
   * caller's.
   *
   * @return how many of them had not expired at {@code at}: those the revocation ended
   */
  static int revokeUnused(Connection connection, String deviceId, Instant at, String reason) throws SQLException {
    int unexpired;
    try (PreparedStatement count = connection.prepareStatement("SELECT COUNT(*) FROM bootstrap_token "
        + "WHERE device_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?")) {
      count.setString(1, deviceId);
      count.setLong(2, at.toEpochMilli());
      try (ResultSet rows = count.executeQuery()) {
        rows.next();
        unexpired = rows.getInt(1);
      }
    }
    try (PreparedStatement update = connection.prepareStatement("UPDATE bootstrap_token SET revoked_at = ?, "
        + "revoked_reason = ? WHERE device_id = ? AND used_at IS NULL AND revoked_at IS NULL")) {
      update.setLong(1, at.toEpochMilli());
      update.setString(2, reason);
      update.setString(3, deviceId);
      update.executeUpdate();
    }
    return unexpired;
  }

  private static void revoke(Connection connection, long id, Instant at, String reason) throws SQLException {
    try (PreparedStatement update = connection.prepareStatement("UPDATE bootstrap_token SET revoked_at = ?, "
        + "revoked_reason = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL")) {
      update.setLong(1, at.toEpochMilli());
      update.setString(2, reason);
      update.setLong(3, id);
      update.executeUpdate();
    }
  }

  /** Token {@code id}, in a transaction of the caller's. */
  static Optional<TokenRecord> find(Connection connection, long id) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(
        "SELECT " + COLUMNS + " FROM bootstrap_token WHERE id = ?")) {
      select.setLong(1, id);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next() ? Optional.of(token(rows)) : Optional.empty();
      }
    }
  }

  private static List<TokenRecord> readAll(PreparedStatement select) throws SQLException {
    List<TokenRecord> tokens = new ArrayList<>();
    try (ResultSet rows = select.executeQuery()) {
      while (rows.next()) {
        tokens.add(token(rows));
      }
    }
    return tokens;
  }

  private static TokenRecord token(ResultSet rows) throws SQLException {
    return new TokenRecord(
        rows.getLong(1),
        rows.getString(2),
        rows.getBytes(3),
        Instant.ofEpochMilli(rows.getLong(4)),
        Instant.ofEpochMilli(rows.getLong(5)),
        instant(rows, 6),
        Role.of(rows.getString(7)),
        rows.getString(8),
        rows.getString(9),
        instant(rows, 10),
        rows.getString(11));
  }

  private static Instant instant(ResultSet rows, int column) throws SQLException {
    long millis = rows.getLong(column);
    return rows.wasNull() ? null : Instant.ofEpochMilli(millis);
  }
}
