package org.estfleet.server.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.Optional;

/** A gateway's copies of the upstream's {@code /cacerts} and {@code /csrattrs}, which survive restarts. */
public final class UpstreamCache {
  private final Database database;

  public UpstreamCache(Database database) {
    this.database = database;
  }

  /**
   * One cached answer.
   *
   * @param status 200, or 204 for {@code /csrattrs} without content
   * @param body the DER body, or null for 204
   */
  public record Entry(String name, int status, byte[] body, Instant fetchedAt) {
    public Entry {
      body = body == null ? null : body.clone();
    }

    @Override
    public byte[] body() {
      return body == null ? null : body.clone();
    }
  }

  public void put(Entry entry) {
    database.inTransaction(connection -> {
      try (PreparedStatement upsert = connection.prepareStatement("INSERT INTO upstream_cache (name, status, body, fetched_at) "
          + "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET status = excluded.status, body = excluded.body, "
          + "fetched_at = excluded.fetched_at")) {
        upsert.setString(1, entry.name());
        upsert.setInt(2, entry.status());
        upsert.setBytes(3, entry.body());
        upsert.setLong(4, entry.fetchedAt().toEpochMilli());
        return upsert.executeUpdate();
      }
    });
  }

  public Optional<Entry> get(String name) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement(
          "SELECT name, status, body, fetched_at FROM upstream_cache WHERE name = ?")) {
        select.setString(1, name);
        try (ResultSet rows = select.executeQuery()) {
          if (!rows.next()) {
            return Optional.empty();
          }
          return Optional.of(new Entry(rows.getString(1), rows.getInt(2), rows.getBytes(3),
              Instant.ofEpochMilli(rows.getLong(4))));
        }
      }
    });
  }
}
