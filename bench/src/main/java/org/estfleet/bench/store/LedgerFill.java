package org.estfleet.bench.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import org.estfleet.server.store.Database;

/**
 * Bulk-loads an est-server ledger with issued-certificate records, to measure enrollment against a
 * large store without making millions of enrollments: {@code LedgerFill DBFILE ROWS CERTFILE}.
 *
 * <p>Each row is a distinct device ({@code fill-<n>}) with its own serial and key hash, and the
 * certificate of {@code CERTFILE} as its PEM (its size, not its content, is what the store feels).
 * Serials and device ids increase, so that the load appends to every index; enrollment afterwards
 * looks rows up by random keys like any other.
 */
public final class LedgerFill {
  private static final int BATCH = 100_000;

  private LedgerFill() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: LedgerFill DBFILE ROWS CERTFILE");
      System.exit(2);
    }
    Path file = Path.of(args[0]);
    long rows = Long.parseLong(args[1]);
    String pem = Files.readString(Path.of(args[2]));
    SecureRandom random = new SecureRandom();
    HexFormat hex = HexFormat.of();
    long start = System.nanoTime();
    Instant now = Instant.now();
    try (Database database = Database.open(file)) {
      long done = 0;
      while (done < rows) {
        long first = done;
        long count = Math.min(BATCH, rows - done);
        database.inTransaction(connection -> {
          try (PreparedStatement insert = connection.prepareStatement("INSERT INTO issued_certificate (serial, "
              + "device_id, subject, label, not_before, not_after, issued_at, auth_method, auth_detail, "
              + "public_key_sha256, certificate_pem, role) VALUES (?, ?, ?, '', ?, ?, ?, 'token', ?, ?, ?, 'device')")) {
            byte[] key = new byte[32];
            for (long i = first; i < first + count; i++) {
              String device = String.format("fill-%09d", i);
              random.nextBytes(key);
              insert.setString(1, String.format("f1%030x", i));
              insert.setString(2, device);
              insert.setString(3, "CN=" + device);
              insert.setLong(4, now.minus(Duration.ofDays(1)).toEpochMilli());
              insert.setLong(5, now.plus(Duration.ofDays(30)).toEpochMilli());
              insert.setLong(6, now.toEpochMilli());
              insert.setString(7, "token " + i);
              insert.setString(8, hex.formatHex(key));
              insert.setString(9, pem);
              insert.addBatch();
            }
            insert.executeBatch();
          }
          return null;
        });
        done += count;
        double seconds = (System.nanoTime() - start) / 1e9;
        System.err.printf("%,d rows, %.0f s, %,.0f rows/s%n", done, seconds, done / seconds);
      }
    }
  }
}
