package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's queue limits and health: the waiting requests (V5) and the answered ones (V6) are
 * counted by the store's triggers as rows change, and every kind of change keeps the counts equal
 * to the rows they count.
 */
class PendingEnrollmentsTest {
  private static final Instant NOW = Instant.parse("2026-12-05T06:00:00Z");

  @TempDir Path dir;

  @Test
  void theWaitingCounts_followEveryChange_andTheLimitsUseThem() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      PendingEnrollments queue = new PendingEnrollments(database);
      long[] token = new long[4];
      for (int i = 0; i < token.length; i++) {
        token[i] = store(queue, "token-device-" + i, "token", NOW).orElseThrow();
      }
      long[] certificate = new long[3];
      for (int i = 0; i < certificate.length; i++) {
        certificate[i] = store(queue, "certificate-device-" + i, "certificate", NOW.plusSeconds(60)).orElseThrow();
      }
      assertCounts(database, Map.of("token", 4L, "certificate", 3L));

      assertEquals(new PendingEnrollments.Depth(7, 0, NOW), queue.depth());

      assertTrue(queue.issued(token[0], "-----BEGIN CERTIFICATE-----\n", NOW));
      assertTrue(queue.refused(certificate[0], 403, "not this one", NOW));
      assertTrue(queue.issued(token[3], "-----BEGIN CERTIFICATE-----\n", NOW.plusSeconds(5)));
      queue.retryLater(token[1], "upstream unreachable", NOW.plusSeconds(30), NOW);
      assertCounts(database, Map.of("token", 2L, "certificate", 2L));
      assertAnswered(database, Map.of("issued", 2L, "refused", 1L));
      assertEquals(new PendingEnrollments.Depth(4, 3, NOW), queue.depth());

      queue.delete(token[0]); // answered: uncounted there
      queue.delete(token[2]); // waiting
      assertCounts(database, Map.of("token", 1L, "certificate", 2L));
      assertAnswered(database, Map.of("issued", 1L, "refused", 1L));

      // Waiting token requests were created at NOW, certificate ones a minute later; the refusal
      // was recorded at NOW, the other certificate five seconds later.
      assertEquals(2, queue.expire(NOW.plusSeconds(1), NOW.plusSeconds(1)));
      assertCounts(database, Map.of("certificate", 2L));
      assertAnswered(database, Map.of("issued", 1L));
      assertEquals(new PendingEnrollments.Depth(2, 1, NOW.plusSeconds(60)), queue.depth());

      assertEquals(1, queue.expire(NOW, NOW.plusSeconds(6)));
      assertEquals(2, queue.expire(NOW.plusSeconds(61), NOW));
      assertCounts(database, Map.of());
      assertAnswered(database, Map.of());
      assertEquals(new PendingEnrollments.Depth(0, 0, null), queue.depth());
    }
  }

  @Test
  void anIssuedCertificate_isDeliveredFirstOnce_evenIfItsRecordWentMeanwhile() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      PendingEnrollments queue = new PendingEnrollments(database);
      long id = store(queue, "device-1", "token", NOW).orElseThrow();
      long other = store(queue, "device-2", "token", NOW).orElseThrow();
      assertTrue(queue.issued(id, "-----BEGIN CERTIFICATE-----\n", NOW));
      assertTrue(queue.issued(other, "-----BEGIN CERTIFICATE-----\n", NOW));

      assertTrue(queue.delivered(id, NOW.plusSeconds(1)));
      assertFalse(queue.delivered(id, NOW.plusSeconds(2)), "a second delivery is a resend");
      assertFalse(queue.delivered(id, NOW.plusSeconds(3)));
      queue.delete(other);
      assertTrue(queue.delivered(other, NOW.plusSeconds(4)), "expired meanwhile: this delivery is its only one");
    }
  }

  @Test
  void theCredentialsARequestWasSentWith_areKnownAfterItsAnswer_andNotBeforeV10() throws SQLException {
    // given: a gateway's store at V9, with a request refused there and one waiting, then migrated
    Path file = storeAt("9", connection -> {
      insertV4(connection, "device-0", "token", "refused");
      insertV4(connection, "device-00", "token", "pending");
      try (PreparedStatement token = connection.prepareStatement(
          "UPDATE pending_enrollment SET device_token = 'token-of-device-00' WHERE device_id = 'device-00'")) {
        token.executeUpdate();
      }
    });
    try (Database database = Database.open(file)) {
      PendingEnrollments queue = new PendingEnrollments(database);
      long token = store(queue, "device-1", "token", NOW).orElseThrow();
      long chain = queue.accept("request-device-2", "device-2", "device-2-key", "", "simplereenroll",
          new byte[] {1, 2, 3}, "certificate", null, "chain-of-device-2", false, NOW, 1_000, 1_000)
          .record().orElseThrow().id();

      // when: answered, which wipes the token
      assertTrue(queue.refused(token, 401, "wrong enrollment token", NOW));
      assertTrue(queue.refused(chain, 403, "not this one", NOW));

      // then
      PendingEnrollment byToken = queue.byId(token).orElseThrow();
      assertEquals(null, byToken.deviceToken());
      assertTrue(byToken.sentWith("token-of-device-1", null));
      assertFalse(byToken.sentWith("token-of-device-9", null));
      assertFalse(byToken.sentWith(null, "token-of-device-1"), "a chain is not a token");
      PendingEnrollment byChain = queue.byId(chain).orElseThrow();
      assertTrue(byChain.sentWith(null, "chain-of-device-2"));
      assertFalse(byChain.sentWith(null, "another chain"));
      assertFalse(byChain.sentWith("token-of-device-2", null));
      PendingEnrollment beforeV10 = queue.find("device-0", "device-0-key", "").orElseThrow();
      assertEquals(null, beforeV10.credentialsSha256());
      assertTrue(beforeV10.sentWith("any token", null), "no digest kept: told as before V10, to any sending");
      // Stored before V10, refused after it: the digest is made from the token before it is wiped.
      long waitingSinceV9 = queue.find("device-00", "device-00-key", "").orElseThrow().id();
      assertTrue(queue.refused(waitingSinceV9, 401, "wrong enrollment token", NOW));
      PendingEnrollment refusedAfterV10 = queue.byId(waitingSinceV9).orElseThrow();
      assertEquals(null, refusedAfterV10.deviceToken());
      assertTrue(refusedAfterV10.sentWith("token-of-device-00", null));
      assertFalse(refusedAfterV10.sentWith("token-of-device-9", null));
    }
  }

  @Test
  void anUpdateThatKeepsARequestWaiting_orChangesItsMethod_keepsTheCountsRight() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      PendingEnrollments queue = new PendingEnrollments(database);
      long id = store(queue, "device-1", "token", NOW).orElseThrow();
      store(queue, "device-2", "certificate", NOW).orElseThrow();

      // Not what the gateway does today: what any later change of a waiting row must keep right.
      database.inTransaction(connection -> update(connection, "UPDATE pending_enrollment SET status = 'pending' "
          + "WHERE id = ?", id));
      assertCounts(database, Map.of("token", 1L, "certificate", 1L));
      database.inTransaction(connection -> update(connection, "UPDATE pending_enrollment SET auth_method = 'idevid' "
          + "WHERE id = ?", id));
      assertCounts(database, Map.of("idevid", 1L, "certificate", 1L));

      assertTrue(queue.issued(id, "-----BEGIN CERTIFICATE-----\n", NOW));
      database.inTransaction(connection -> update(connection, "UPDATE pending_enrollment SET status = 'refused' "
          + "WHERE id = ?", id));
      assertAnswered(database, Map.of("refused", 1L));
      database.inTransaction(connection -> update(connection, "UPDATE pending_enrollment SET status = 'pending' "
          + "WHERE id = ?", id));
      assertAnswered(database, Map.of());
      assertCounts(database, Map.of("idevid", 1L, "certificate", 1L));
    }
  }

  private static int update(Connection connection, String sql, long id) throws SQLException {
    try (PreparedStatement update = connection.prepareStatement(sql)) {
      update.setLong(1, id);
      return update.executeUpdate();
    }
  }

  @Test
  void theForwardersBatch_takesTheRequestsDueLongestFirst_andNoneNotYetDue() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      PendingEnrollments queue = new PendingEnrollments(database);
      long first = store(queue, "device-1", "token", NOW).orElseThrow();
      long second = store(queue, "device-2", "token", NOW.plusSeconds(1)).orElseThrow();
      long third = store(queue, "device-3", "certificate", NOW.plusSeconds(2)).orElseThrow();
      long fourth = store(queue, "device-4", "certificate", NOW.plusSeconds(3)).orElseThrow();
      queue.retryLater(first, "upstream answered 503", NOW.plusSeconds(10), NOW);
      queue.retryLater(fourth, "upstream answered 503", NOW.plusSeconds(60), NOW);

      assertEquals(List.of(second, third), ids(queue.due(NOW.plusSeconds(9), 10)));
      assertEquals(List.of(second, third, first), ids(queue.due(NOW.plusSeconds(10), 10)));
      assertEquals(List.of(second, third), ids(queue.due(NOW.plusSeconds(60), 2)));
      assertEquals(List.of(second, third, first, fourth), ids(queue.due(NOW.plusSeconds(60), 10)));
    }
  }

  @Test
  void aFullQueue_refusesANewRequest_untilOneLeavesIt() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      PendingEnrollments queue = new PendingEnrollments(database);
      long first = store(queue, "device-1", "certificate", NOW, 2, 2).orElseThrow();
      store(queue, "device-2", "token", NOW, 2, 2).orElseThrow();

      assertEquals(PendingEnrollments.Admission.FULL, admit(queue, "device-3", "certificate", 2, 2));
      assertTrue(queue.issued(first, "-----BEGIN CERTIFICATE-----\n", NOW));
      // One waits now, by token: room for a certificate device, none for another token.
      assertEquals(PendingEnrollments.Admission.FULL, admit(queue, "device-4", "token", 2, 1));
      assertEquals(PendingEnrollments.Admission.STORED, admit(queue, "device-3", "certificate", 2, 1));
      assertEquals(PendingEnrollments.Admission.FULL, admit(queue, "device-5", "certificate", 2, 1));
    }
  }

  @Test
  void aStoreMigratedWithRequestsWaiting_countsThem() throws SQLException {
    // given: a gateway's store at V4 (before the counts), with requests waiting and answered
    Path file = storeAt("4", connection -> {
      insertV4(connection, "device-1", "token", "pending");
      insertV4(connection, "device-2", "token", "pending");
      insertV4(connection, "device-3", "idevid", "pending");
      insertV4(connection, "device-4", "token", "issued");
      insertV4(connection, "device-5", "idevid", "refused");
    });

    // when
    try (Database database = Database.open(file)) {
      // then
      assertCounts(database, Map.of("token", 2L, "idevid", 1L));
      assertAnswered(database, Map.of("issued", 1L, "refused", 1L));
      PendingEnrollments queue = new PendingEnrollments(database);
      assertEquals(new PendingEnrollments.Depth(3, 2, NOW.minus(Duration.ofHours(1))), queue.depth());
      assertEquals(PendingEnrollments.Admission.FULL, admit(queue, "device-6", "certificate", 3, 3));
      assertEquals(PendingEnrollments.Admission.STORED, admit(queue, "device-6", "certificate", 4, 3));
    }
  }

  private static Optional<Long> store(PendingEnrollments queue, String device, String authMethod,
      Instant createdAt) {
    return store(queue, device, authMethod, createdAt, 1_000, 1_000);
  }

  private static Optional<Long> store(PendingEnrollments queue, String device, String authMethod,
      Instant createdAt, int limit, int tokenLimit) {
    return queue.accept("request-" + device, device, device + "-key", "", "simpleenroll", new byte[] {1, 2, 3},
        authMethod, "token".equals(authMethod) ? "token-of-" + device : null, null, false, createdAt, limit,
        tokenLimit).record().map(PendingEnrollment::id);
  }

  private static PendingEnrollments.Admission admit(PendingEnrollments queue, String device, String authMethod,
      int limit, int tokenLimit) {
    return queue.accept("request-" + device, device, device + "-key", "", "simpleenroll", new byte[] {1, 2, 3},
        authMethod, null, null, false, NOW, limit, tokenLimit).admission();
  }

  private static List<Long> ids(List<PendingEnrollment> requests) {
    return requests.stream().map(PendingEnrollment::id).toList();
  }

  /** V6's triggers' counts of answers (those not zero) equal the answered rows, and {@code expected}. */
  private static void assertAnswered(Database database, Map<String, Long> expected) {
    assertKept(database, "SELECT status, answered FROM answered_count WHERE answered <> 0",
        "SELECT status, COUNT(*) FROM pending_enrollment WHERE status <> 'pending' GROUP BY status", expected);
  }

  /** V5's triggers' counts (those not zero) equal the waiting rows, and {@code expected}. */
  private static void assertCounts(Database database, Map<String, Long> expected) {
    assertKept(database, "SELECT auth_method, waiting FROM pending_count WHERE waiting <> 0",
        "SELECT auth_method, COUNT(*) FROM pending_enrollment WHERE status = 'pending' GROUP BY auth_method", expected);
  }

  /** The counts {@code kept} reads equal those {@code recount} counts from the rows, and {@code expected}. */
  private static void assertKept(Database database, String kept, String recount, Map<String, Long> expected) {
    Map<String, Long> counted = database.read(connection -> rows(connection, kept));
    assertEquals(database.read(connection -> rows(connection, recount)), counted);
    assertEquals(new TreeMap<>(expected), counted);
  }

  private static Map<String, Long> rows(Connection connection, String query) throws SQLException {
    Map<String, Long> counts = new TreeMap<>();
    try (PreparedStatement select = connection.prepareStatement(query); ResultSet rows = select.executeQuery()) {
      while (rows.next()) {
        counts.put(rows.getString(1), rows.getLong(2));
      }
    }
    return counts;
  }

  /** Rows written straight into a store, as an older est-server wrote them. */
  private interface Rows {
    void insert(Connection connection) throws SQLException;
  }

  /** A gateway's store migrated up to {@code version} only, holding {@code rows}; not yet opened by {@link Database}. */
  private Path storeAt(String version, Rows rows) throws SQLException {
    Path file = dir.resolve("estfleet.db");
    String url = "jdbc:sqlite:" + file;
    Flyway.configure().dataSource(url, null, null).locations("classpath:db/migration").target(version).load().migrate();
    try (Connection connection = DriverManager.getConnection(url)) {
      rows.insert(connection);
    }
    return file;
  }

  private static void insertV4(Connection connection, String device, String authMethod, String status)
      throws SQLException {
    long at = NOW.minus(Duration.ofHours(1)).toEpochMilli();
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO pending_enrollment (request_id, device_id, "
        + "public_key_sha256, label, operation, csr_der, auth_method, status, created_at, updated_at, next_attempt_at) "
        + "VALUES (?, ?, ?, '', 'simpleenroll', x'010203', ?, ?, ?, ?, ?)")) {
      insert.setString(1, "request-" + device);
      insert.setString(2, device);
      insert.setString(3, device + "-key");
      insert.setString(4, authMethod);
      insert.setString(5, status);
      insert.setLong(6, at);
      insert.setLong(7, at);
      insert.setLong(8, at);
      insert.executeUpdate();
    }
  }
}
