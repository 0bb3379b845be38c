package org.estfleet.server.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Stored bootstrap tokens: hashes only; consumption happens in {@link IssuedCertificates#record}. */
public final class TokenRecords {
  /** The look-up of a device's tokens at each token enrollment, held to an index by QueryPlanTest. */
  static final String BY_DEVICE =
      "SELECT id, device_id, token_sha256, created_at, expires_at, used_at, role, label FROM bootstrap_token "
          + "WHERE device_id = ?";

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
   */
  public record TokenRecord(long id, String deviceId, byte[] sha256, Instant createdAt, Instant expiresAt, Instant usedAt,
      Role role, String label) {
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
        List<TokenRecord> tokens = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
          while (rows.next()) {
            long usedAt = rows.getLong(6);
            boolean unused = rows.wasNull();
            tokens.add(new TokenRecord(
                rows.getLong(1),
                rows.getString(2),
                rows.getBytes(3),
                Instant.ofEpochMilli(rows.getLong(4)),
                Instant.ofEpochMilli(rows.getLong(5)),
                unused ? null : Instant.ofEpochMilli(usedAt),
                Role.of(rows.getString(7)),
                rows.getString(8)));
          }
        }
        return tokens;
      }
    });
  }
}
