package org.estfleet.bench.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.PendingEnrollment;
import org.estfleet.server.store.PendingEnrollments;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A gateway's store work for one device request forwarded at once and answered (the embedded
 * SQLite database in a temporary directory on the disk the benchmark runs from), in the order
 * the gateway does it: the look-up of a retry, the durable admission, the re-read before the
 * forward, the durable answer, the re-read after it. Run it with {@code -t 1} and {@code -t 8}:
 * with several threads, concurrent requests may share commits. {@code -p waiting=10000} stores
 * that many requests first and leaves them waiting, as after an outage of the upstream: each
 * admission counts the waiting requests against {@code gateway.queueLimit}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GatewayQueueBenchmark {
  private static final String CERTIFICATE = "-----BEGIN CERTIFICATE-----\n" + "A".repeat(600)
      + "\n-----END CERTIFICATE-----\n";
  private final AtomicLong devices = new AtomicLong();
  private final byte[] csr = new byte[300];
  /** Requests left waiting for the upstream while the benchmark runs. */
  @Param({"0"})
  public int waiting;
  private Path directory;
  private Database database;
  private PendingEnrollments queue;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    directory = Files.createTempDirectory(Path.of("."), "gateway-queue-bench");
    database = Database.open(directory.resolve("estfleet.db"));
    queue = new PendingEnrollments(database);
    // From 8 threads, so that the admissions share commits (else one fsync each).
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> stored = new ArrayList<>();
      for (int i = 0; i < waiting; i++) {
        String device = "waiting-" + i;
        stored.add(threads.submit(() -> queue.accept(UUID.randomUUID().toString(), device, device + "-key", "",
            "simpleenroll", csr, "token", "token-of-" + device, null, false, Instant.now(), 1_000_000_000,
            1_000_000_000)));
      }
      for (Future<?> admission : stored) {
        admission.get();
      }
    } catch (InterruptedException | ExecutionException e) {
      throw new IllegalStateException("could not store the waiting requests", e);
    } finally {
      threads.shutdown();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    database.close();
    try (var files = Files.list(directory)) {
      for (Path file : files.toList()) {
        Files.delete(file);
      }
    }
    Files.delete(directory);
  }

  @Benchmark
  public PendingEnrollment forwardedRequest() {
    String device = "device-" + devices.incrementAndGet();
    String key = device + "-key";
    Instant now = Instant.now();
    Optional<PendingEnrollment> retry = queue.find(device, key, "");
    if (retry.isPresent()) {
      throw new IllegalStateException("a new device's request was found: " + device);
    }
    PendingEnrollment stored = queue.accept(UUID.randomUUID().toString(), device, key, "", "simpleenroll", csr,
        "token", "token-of-" + device, null, false, now, 1_000_000_000, 1_000_000_000).record().orElseThrow();
    queue.byId(stored.id()).orElseThrow();
    if (!queue.issued(stored.id(), CERTIFICATE, now)) {
      throw new IllegalStateException("request " + stored.id() + " was not pending");
    }
    return queue.byId(stored.id()).orElseThrow();
  }
}
