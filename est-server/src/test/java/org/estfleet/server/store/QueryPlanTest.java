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
 * How SQLite runs the look-ups each request makes, on the migrated schema: each must search an
 * index on the columns it matches, not read a device's whole history or a whole table (SQLite's
 * planner has no statistics here, an ORDER BY can lead it to an index that only sorts, and a
 * partial index serves only the queries whose terms imply its WHERE clause). A look-up that reads
 * more than it finds costs nothing on a test's small store and everything on a fleet's.
 */
class QueryPlanTest {
  @TempDir Path dir;

  @Test
  void aClientAskingAgain_isFoundByDeviceAndKey_notByReadingTheDevicesHistory() {
    // A candidate's revocation is one probe of the revocations' primary key, not a scan of them.
    List<String> plan = List.of("SEARCH issued_certificate USING INDEX issued_certificate_retry "
        + "(device_id=? AND public_key_sha256=?)", "USING INDEX sqlite_autoindex_revoked_certificate_1 FOR IN-OPERATOR");
    assertEquals(plan, plan(IssuedCertificates.RETRY_QUERY));
    assertEquals(plan, plan(IssuedCertificates.RETRY_EXISTS));
  }

  @Test
  void aRevokedKey_isFoundByDeviceAndKey() {
    assertEquals(List.of("SEARCH issued_certificate USING INDEX issued_certificate_retry "
        + "(device_id=? AND public_key_sha256=?)", "USING INDEX sqlite_autoindex_revoked_certificate_1 FOR IN-OPERATOR"),
        plan(IssuedCertificates.REVOKED_FOR_KEY));
  }

  @Test
  void aRunningServer_readsOnlyTheNewRevocations() {
    assertEquals(List.of("SEARCH revoked_certificate USING INTEGER PRIMARY KEY (rowid>?)"),
        plan(Revocations.CERTIFICATES_SINCE));
    assertEquals(List.of("SEARCH revoked_device USING INTEGER PRIMARY KEY (rowid>?)"), plan(Revocations.DEVICES_SINCE));
  }

  @Test
  void aNewSerial_isCheckedAndARecordFound_byTheSerialsIndex() {
    assertEquals(List.of("SEARCH issued_certificate USING COVERING INDEX sqlite_autoindex_issued_certificate_1 "
        + "(serial=?)"), plan(IssuedCertificates.SERIAL_TAKEN));
    assertEquals(List.of("SEARCH issued_certificate USING INDEX sqlite_autoindex_issued_certificate_1 (serial=?)"),
        plan(IssuedCertificates.BY_SERIAL));
  }

  @Test
  void aGatewaysRequest_isFoundByThePartialIndexOfForwardedRequests() {
    assertEquals(List.of("SEARCH issued_certificate USING COVERING INDEX issued_certificate_forwarded "
        + "(forwarded_by=? AND request_id=?)"), plan(IssuedCertificates.REQUEST_TAKEN));
    assertEquals(List.of("SEARCH issued_certificate USING INDEX issued_certificate_forwarded "
        + "(forwarded_by=? AND request_id=?)", "USING INDEX sqlite_autoindex_revoked_certificate_1 FOR IN-OPERATOR"),
        plan(IssuedCertificates.BY_REQUEST));
  }

  @Test
  void aToken_isFoundByDeviceAndConsumedById() {
    assertEquals(List.of("SEARCH bootstrap_token USING INDEX bootstrap_token_device (device_id=?)"),
        plan(TokenRecords.BY_DEVICE));
    assertEquals(List.of("SEARCH bootstrap_token USING INTEGER PRIMARY KEY (rowid=?)"),
        plan(IssuedCertificates.CONSUME_TOKEN));
  }

  @Test
  void aGatewaysWaitingRequest_isFoundByDeviceKeyAndLabel_byId_andWhenDue() {
    assertEquals(List.of("SEARCH pending_enrollment USING INDEX sqlite_autoindex_pending_enrollment_2 "
        + "(device_id=? AND public_key_sha256=? AND label=?)"), plan(PendingEnrollments.BY_KEY));
    assertEquals(List.of("SEARCH pending_enrollment USING INTEGER PRIMARY KEY (rowid=?)"),
        plan(PendingEnrollments.BY_ID));
    // The forwarder's batch reads the index in its order and stops at the batch: no sort of
    // every due request (a long queue after an outage) to take the first hundred.
    assertEquals(List.of("SEARCH pending_enrollment USING INDEX pending_enrollment_due (status=? AND next_attempt_at<?)"),
        plan(PendingEnrollments.DUE));
  }

  @Test
  void theForwardersExpiry_searchesAnIndexForEachKindOfStaleRequest() {
    assertEquals(List.of("SEARCH pending_enrollment USING COVERING INDEX pending_enrollment_age (status=? AND created_at<?)"),
        plan(PendingEnrollments.EXPIRE_PENDING));
    assertEquals(List.of("SEARCH pending_enrollment USING INDEX pending_enrollment_answered (updated_at<?)"),
        plan(PendingEnrollments.EXPIRE_ANSWERED));
  }

  @Test
  void health_readsOneDescentKeptCountsAndOneIndexEntry_notTheLedgerOrTheQueue() {
    assertEquals(List.of("SEARCH issued_certificate"), plan(IssuedCertificates.COUNT));
    assertEquals(List.of("SCAN CONSTANT ROW", "SCALAR SUBQUERY 1", "SCAN pending_count", "SCALAR SUBQUERY 2", "SCAN answered_count",
        "SCALAR SUBQUERY 3", "SEARCH pending_enrollment USING COVERING INDEX pending_enrollment_age (status=?)"),
        plan(PendingEnrollments.DEPTH));
  }

  @Test
  void aGatewaysAdmission_readsTheWaitingCounts_notTheQueue() {
    assertEquals(List.of("SCAN pending_count"), plan(PendingEnrollments.WAITING));
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
