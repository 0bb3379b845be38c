package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger's size as GET /health reports it: its highest row id (V8), equal to the number of
 * records in a ledger nothing deletes from, read without counting millions of rows.
 */
class IssuedCertificatesCountTest {
  private static final Instant NOW = Instant.parse("2026-12-05T06:00:00Z");

  @TempDir Path dir;

  @Test
  void theCount_followsEveryRecordedCertificate_andNotARefusedOne() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      IssuedCertificates ledger = new IssuedCertificates(database);
      assertEquals(0, ledger.count());

      assertEquals(IssuedCertificates.Outcome.RECORDED, ledger.record(record("01", "device-1")));
      assertEquals(IssuedCertificates.Outcome.RECORDED, ledger.record(record("02", "device-2")));
      // the same serial again: refused, and the count stays
      assertEquals(IssuedCertificates.Outcome.DUPLICATE_SERIAL, ledger.record(record("02", "device-3")));

      assertEquals(2, ledger.count());
      assertEquals(countedRows(database), ledger.count());
    }
  }

  @Test
  void aLedgerMigratedWithCertificates_countsThem_andTheCertificatesRecordedAfter() throws SQLException {
    // given: a store at V5, before any count, with three certificates recorded
    Path file = dir.resolve("estfleet.db");
    String url = "jdbc:sqlite:" + file;
    Flyway.configure().dataSource(url, null, null).locations("classpath:db/migration").target("5").load().migrate();
    try (Connection connection = DriverManager.getConnection(url)) {
      for (String serial : new String[] {"0a", "0b", "0c"}) {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO issued_certificate (serial, device_id, "
            + "subject, label, not_before, not_after, issued_at, auth_method, auth_detail, public_key_sha256, "
            + "certificate_pem) VALUES (?, 'device', 'CN=device', '', 0, 1, 0, 'token', 'token 1', 'key', 'pem')")) {
          insert.setString(1, serial);
          insert.executeUpdate();
        }
      }
    }

    // when
    try (Database database = Database.open(file)) {
      IssuedCertificates ledger = new IssuedCertificates(database);
      // then
      assertEquals(3, ledger.count());
      assertEquals(IssuedCertificates.Outcome.RECORDED, ledger.record(record("0d", "device-4")));
      assertEquals(IssuedCertificates.Outcome.DUPLICATE_SERIAL, ledger.record(record("0d", "device-5")));
      assertEquals(4, ledger.count());
      assertEquals(countedRows(database), ledger.count());
    }
  }

  private static IssuanceRecord record(String serial, String device) {
    return new IssuanceRecord(serial, device, "CN=" + device, "", NOW, NOW.plusSeconds(3600), NOW, "certificate",
        "certificate 01", null, device + "-key", "-----BEGIN CERTIFICATE-----\n", null, null, Role.DEVICE);
  }

  private static long countedRows(Database database) {
    return database.read(connection -> {
      try (PreparedStatement select = connection.prepareStatement("SELECT COUNT(*) FROM issued_certificate");
          ResultSet rows = select.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    });
  }
}
