package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How SQLite runs the ledger's per-request look-ups, on the migrated schema: each must search an
 * index on all the columns it matches, not read a device's whole history (SQLite's planner has no
 * statistics here, and an ORDER BY can lead it to an index that only sorts).
 */
class QueryPlanTest {
  @TempDir Path dir;

  @Test
  void aClientAskingAgain_isFoundByDeviceAndKey_notByReadingTheDevicesHistory() {
    assertEquals(List.of("SEARCH issued_certificate USING INDEX issued_certificate_retry "
        + "(device_id=? AND public_key_sha256=?)"), plan(IssuedCertificates.RETRY_QUERY));
  }

  private List<String> plan(String query) {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      return database.read(connection -> {
        List<String> steps = new ArrayList<>();
        try (PreparedStatement explain = connection.prepareStatement("EXPLAIN QUERY PLAN " + query);
            ResultSet rows = explain.executeQuery()) {
          while (rows.next()) {
            steps.add(rows.getString("detail"));
          }
        }
        return steps;
      });
    }
  }
}
