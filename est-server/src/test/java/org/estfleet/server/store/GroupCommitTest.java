package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group commit on a real SQLite file. Each test holds the first writer inside its transaction
 * until the other callers are queued behind it, so that they share the next transaction.
 */
@Timeout(60)
class GroupCommitTest {
  private static final int QUEUED = 12;
  private static final int MANY = GroupCommit.MAX_WORKS + 36;

  @TempDir Path dir;
  private Database database;
  private ExecutorService threads;

  @BeforeEach
  void open() {
    database = Database.open(dir.resolve("estfleet.db"));
    database.inTransaction(connection -> connection.createStatement()
        .executeUpdate("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"));
    threads = Executors.newFixedThreadPool(MANY + 1);
  }

  @AfterEach
  void close() {
    threads.shutdownNow();
    database.close();
  }

  @Test
  void queuedWorksShareOneTransactionAndAllCommit() throws Exception {
    // given: a writer held in its transaction while QUEUED others arrive
    CountDownLatch release = new CountDownLatch(1);
    Future<Integer> first = holdFirstWriter(release);
    AtomicInteger sawUncommittedEarlierWork = new AtomicInteger();
    List<Future<Integer>> queued = queueBehindFirstWriter(QUEUED, id -> database.inSharedTransaction(connection -> {
      // What earlier works of this transaction wrote: visible here, not yet to other connections.
      int here = count(connection);
      int committed = database.read(GroupCommitTest::count);
      if (here > committed) {
        sawUncommittedEarlierWork.incrementAndGet();
      }
      insert(connection, id, "queued " + id);
      return id;
    }));

    // when
    release.countDown();

    // then
    assertEquals(1000, first.get(10, TimeUnit.SECONDS));
    for (int i = 0; i < QUEUED; i++) {
      assertEquals(i, queued.get(i).get(10, TimeUnit.SECONDS));
    }
    assertEquals(QUEUED + 1, database.read(GroupCommitTest::count));
    // All queued works were in one transaction: all but its first saw uncommitted rows.
    assertEquals(QUEUED - 1, sawUncommittedEarlierWork.get());
  }

  @Test
  void aFailingWorkFailsOnlyItsOwnCaller() throws Exception {
    // given: row 7 exists, and one of the queued works inserts it again
    database.inTransaction(connection -> insert(connection, 7, "already there"));
    CountDownLatch release = new CountDownLatch(1);
    Future<Integer> first = holdFirstWriter(release);
    AtomicInteger runs = new AtomicInteger();
    List<Future<Integer>> queued = queueBehindFirstWriter(QUEUED, id -> database.inSharedTransaction(connection -> {
      runs.incrementAndGet();
      return insert(connection, id, "queued " + id);
    }));

    // when
    release.countDown();

    // then: the duplicate's caller gets the database's error, every other row is there once, and
    // no work ran twice
    for (int i = 0; i < QUEUED; i++) {
      if (i == 7) {
        Exception failure = assertThrows(Exception.class, () -> queued.get(7).get(10, TimeUnit.SECONDS));
        assertInstanceOf(StoreException.class, failure.getCause());
        assertTrue(failure.getCause().getMessage().contains("UNIQUE"), failure.getCause().getMessage());
      } else {
        assertEquals(1, queued.get(i).get(10, TimeUnit.SECONDS));
      }
    }
    assertEquals(1000, first.get(10, TimeUnit.SECONDS));
    assertEquals(QUEUED + 1, database.read(GroupCommitTest::count));
    assertEquals("already there", database.read(connection -> text(connection, 7)));
    assertEquals(QUEUED, runs.get());
  }

  @Test
  void moreWorksThanOneTransactionTakesAllCommit() throws Exception {
    // given: more callers queued than one transaction takes
    CountDownLatch release = new CountDownLatch(1);
    Future<Integer> first = holdFirstWriter(release);
    List<Future<Integer>> queued = queueBehindFirstWriter(MANY,
        id -> database.inSharedTransaction(connection -> insert(connection, id, "queued " + id)));

    // when
    release.countDown();

    // then
    assertEquals(1000, first.get(10, TimeUnit.SECONDS));
    for (Future<Integer> one : queued) {
      assertEquals(1, one.get(10, TimeUnit.SECONDS));
    }
    assertEquals(MANY + 1, database.read(GroupCommitTest::count));
  }

  @Test
  void aTokenQueuedTwiceInOneTransactionIsConsumedOnce() throws Exception {
    // given: one bootstrap token, and two issuances under it queued behind a held writer
    long tokenId = database.inTransaction(connection -> {
      try (PreparedStatement insert = connection.prepareStatement("INSERT INTO bootstrap_token "
          + "(device_id, token_sha256, created_at, expires_at) VALUES ('dev-1', x'00', 0, 9999999999999)")) {
        insert.executeUpdate();
      }
      try (ResultSet rows = connection.createStatement().executeQuery("SELECT last_insert_rowid()")) {
        rows.next();
        return rows.getLong(1);
      }
    });
    IssuedCertificates ledger = new IssuedCertificates(database);
    CountDownLatch release = new CountDownLatch(1);
    Future<Integer> first = holdFirstWriter(release);
    List<String> serials = List.of("0a", "0b");
    List<Future<IssuedCertificates.Outcome>> queued =
        queueBehindFirstWriter(2, i -> ledger.record(issuance(serials.get(i), tokenId)));

    // when
    release.countDown();

    // then
    List<IssuedCertificates.Outcome> outcomes = new ArrayList<>();
    for (Future<IssuedCertificates.Outcome> outcome : queued) {
      outcomes.add(outcome.get(10, TimeUnit.SECONDS));
    }
    outcomes.sort(null);
    assertEquals(List.of(IssuedCertificates.Outcome.RECORDED, IssuedCertificates.Outcome.TOKEN_ALREADY_USED), outcomes);
    assertEquals(1, ledger.byDevice("dev-1").size());
  }

  @Test
  void twoRequestsForOneKeyByOneCertificate_inOneSharedTransaction_theSecondIsARetryOfTheFirst() throws Exception {
    // given: a device's re-enrollment sent twice at once (same key, same client certificate),
    // both queued behind a held writer, so that they share the next transaction
    IssuedCertificates ledger = new IssuedCertificates(database);
    CountDownLatch release = new CountDownLatch(1);
    Future<Integer> first = holdFirstWriter(release);
    List<String> serials = List.of("0a", "0b");
    List<Future<IssuedCertificates.Outcome>> queued = queueBehindFirstWriter(2, i -> ledger.recordUnlessRetry(
        new IssuanceRecord(serials.get(i), "dev-1", "CN=dev-1", "", Instant.parse("2026-12-02T06:00:00Z"),
            Instant.parse("2026-12-02T07:00:00Z"), Instant.parse("2026-12-02T06:00:00Z"), "certificate",
            "certificate serial 01", null, "11".repeat(32), "-----BEGIN CERTIFICATE-----\n", null, null,
            Role.DEVICE), IssuedCertificates.Credential.NONE));

    // when
    release.countDown();

    // then: one certificate recorded; the other request is told it is a retry of it
    assertEquals(1000, first.get(10, TimeUnit.SECONDS));
    List<IssuedCertificates.Outcome> outcomes = new ArrayList<>();
    for (Future<IssuedCertificates.Outcome> outcome : queued) {
      outcomes.add(outcome.get(10, TimeUnit.SECONDS));
    }
    outcomes.sort(null);
    assertEquals(List.of(IssuedCertificates.Outcome.RECORDED, IssuedCertificates.Outcome.RETRY), outcomes);
    assertEquals(1, ledger.byDevice("dev-1").size());
  }

  @Test
  void gatewayAdmissionsShareOneTransaction_theQueueLimitCountsTheEarlierOnes() throws Exception {
    // given: a gateway queue that holds 5 requests, and 8 devices' requests queued behind a held writer
    PendingEnrollments gatewayQueue = new PendingEnrollments(database);
    int limit = 5;
    int devices = 8;
    CountDownLatch release = new CountDownLatch(1);
    Future<Integer> first = holdFirstWriter(release);
    List<Future<PendingEnrollments.Admission>> queued = queueBehindFirstWriter(devices,
        i -> gatewayQueue.accept("request-" + i, "dev-" + i, "key-" + i, "", "simpleenroll", new byte[] {1, 2, 3},
            "token", "token-" + i, null, false, Instant.parse("2026-12-02T06:00:00Z"), limit, limit).admission());

    // when
    release.countDown();

    // then: the first five stored, the rest refused as the queue filled, in one shared transaction
    assertEquals(1000, first.get(10, TimeUnit.SECONDS));
    List<PendingEnrollments.Admission> admissions = new ArrayList<>();
    for (Future<PendingEnrollments.Admission> admission : queued) {
      admissions.add(admission.get(10, TimeUnit.SECONDS));
    }
    assertEquals(limit, admissions.stream().filter(PendingEnrollments.Admission.STORED::equals).count());
    assertEquals(devices - limit, admissions.stream().filter(PendingEnrollments.Admission.FULL::equals).count());
    assertEquals(limit, gatewayQueue.depth().pending());
  }

  private static IssuanceRecord issuance(String serial, long tokenId) {
    Instant now = Instant.parse("2026-12-02T06:00:00Z");
    return new IssuanceRecord(serial, "dev-1", "CN=dev-1", "", now, now.plusSeconds(3600), now, "token",
        "token " + tokenId, tokenId, "00".repeat(32), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        null, null, Role.DEVICE);
  }

  private static int insert(java.sql.Connection connection, int id, String text) throws SQLException {
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO note (id, text) VALUES (?, ?)")) {
      insert.setInt(1, id);
      insert.setString(2, text);
      return insert.executeUpdate();
    }
  }

  private static int count(java.sql.Connection connection) throws SQLException {
    try (ResultSet rows = connection.createStatement().executeQuery("SELECT COUNT(*) FROM note")) {
      rows.next();
      return rows.getInt(1);
    }
  }

  private static String text(java.sql.Connection connection, int id) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement("SELECT text FROM note WHERE id = ?")) {
      select.setInt(1, id);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next() ? rows.getString(1) : null;
      }
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the test never released the first writer");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Starts a writer that stays inside its transaction until {@code release}, and returns once it
   * is there: whoever calls {@link Database#inSharedTransaction} meanwhile queues behind it.
   */
  private Future<Integer> holdFirstWriter(CountDownLatch release) throws InterruptedException {
    CountDownLatch inside = new CountDownLatch(1);
    Future<Integer> first = threads.submit(() -> database.inSharedTransaction(connection -> {
      insert(connection, 1000, "first");
      inside.countDown();
      awaitQuietly(release);
      return 1000;
    }));
    assertTrue(inside.await(10, TimeUnit.SECONDS), "the first writer did not start");
    return first;
  }

  /** A call made with its caller's index. */
  @FunctionalInterface
  private interface Call<T> {
    T call(int index) throws Exception;
  }

  /**
   * Makes {@code count} calls, each on its own thread, and returns once all of them are queued
   * behind the writer {@link #holdFirstWriter} holds.
   */
  private <T> List<Future<T>> queueBehindFirstWriter(int count, Call<T> call) throws InterruptedException {
    List<Future<T>> calls = new ArrayList<>();
    List<Thread> callers = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int index = i;
      calls.add(threads.submit(() -> {
        synchronized (callers) {
          callers.add(Thread.currentThread());
        }
        return call.call(index);
      }));
    }
    awaitQueued(callers, count);
    return calls;
  }

  /** Waits until every thread is parked in the group commit's queue. */
  private static void awaitQueued(List<Thread> queuedThreads, int expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      List<Thread> snapshot;
      synchronized (queuedThreads) {
        snapshot = List.copyOf(queuedThreads);
      }
      if (snapshot.size() == expected) {
        boolean allParked = snapshot.stream().allMatch(thread -> Arrays.stream(thread.getStackTrace())
            .anyMatch(frame -> frame.getClassName().equals(GroupCommit.class.getName())
                && frame.getMethodName().equals("run"))
            && Arrays.stream(thread.getStackTrace())
                .anyMatch(frame -> frame.getMethodName().equals("awaitUninterruptibly")));
        if (allParked) {
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the callers did not queue behind the first writer");
      }
      Thread.sleep(5);
    }
  }
}
