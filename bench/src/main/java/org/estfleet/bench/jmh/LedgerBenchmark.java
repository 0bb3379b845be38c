package org.estfleet.bench.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Certificates;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One issuance recorded durably in the ledger (the embedded SQLite database, in a temporary
 * directory on the disk the benchmark runs from): the insert and its commit.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class LedgerBenchmark {
  private Path directory;
  private Database database;
  private IssuedCertificates ledger;
  private final SecureRandom random = new SecureRandom();
  private final String pem = "-----BEGIN CERTIFICATE-----\n" + "A".repeat(600) + "\n-----END CERTIFICATE-----\n";

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    directory = Files.createTempDirectory(Path.of("."), "ledger-bench");
    database = Database.open(directory.resolve("estfleet.db"));
    ledger = new IssuedCertificates(database);
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
  public IssuedCertificates.Outcome record() {
    Instant now = Instant.now();
    String serial = Certificates.serialHex(CertificateBuilder.randomSerial(random));
    return ledger.record(new IssuanceRecord(serial, "device-" + serial.substring(0, 8), "CN=device", "", now,
        now.plusSeconds(86400), now, "certificate", "certificate serial 01", null, serial + serial, pem, null, null,
        Role.DEVICE));
  }
}
