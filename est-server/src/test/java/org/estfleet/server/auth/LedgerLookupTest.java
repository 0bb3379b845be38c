package org.estfleet.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.Optional;
import org.estfleet.pki.TestClock;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Revocations;
import org.estfleet.server.store.Role;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Authenticator#ledgerLookup}, which remembers what it found: the holder is checked on
 * every look-up, and a serial not found is looked for again.
 */
class LedgerLookupTest {
  private static final Instant NOW = Instant.parse("2026-12-05T06:00:00Z");

  @TempDir Path dir;
  private final TestClock clock = new TestClock(NOW);
  private Database database;
  private IssuedCertificates ledger;
  private IssuanceLookup lookup;

  @BeforeEach
  void open() {
    database = Database.open(dir.resolve("estfleet.db"));
    ledger = new IssuedCertificates(database);
    lookup = Authenticator.ledgerLookup(ledger, new RevocationList(new Revocations(database), clock));
  }

  @AfterEach
  void close() {
    database.close();
  }

  @Test
  void aRecordFound_isTheHoldersOnly_everyTime() {
    ledger.record(record("0a", "gateway-1", Role.GATEWAY));

    assertEquals(Optional.of(Role.GATEWAY), lookup.find("0a", "gateway-1").map(IssuanceLookup.Issuance::role));
    assertEquals(Optional.empty(), lookup.find("0a", "device-1").map(IssuanceLookup.Issuance::role));
    assertEquals(Optional.of(Role.GATEWAY), lookup.find("0a", "gateway-1").map(IssuanceLookup.Issuance::role));
    assertEquals(Optional.empty(), lookup.find("0a", "device-1").map(IssuanceLookup.Issuance::role));
  }

  @Test
  void aRevocation_isToldOfARecordRememberedBefore_onceTheListIsRead() {
    ledger.record(record("0c", "device-3", Role.DEVICE));
    assertEquals(Optional.of(new IssuanceLookup.Issuance(Role.DEVICE, "")), lookup.find("0c", "device-3"));

    new Revocations(database).revoke(java.util.List.of("0c"), NOW, "stolen");
    Optional<IssuanceLookup.Issuance> beforeTheListIsRead = lookup.find("0c", "device-3");
    clock.advance(RevocationList.REFRESH);
    Optional<IssuanceLookup.Issuance> after = lookup.find("0c", "device-3");

    assertEquals(Optional.of(new IssuanceLookup.Issuance(Role.DEVICE, "")), beforeTheListIsRead);
    assertEquals("was revoked at " + NOW + " (stolen)", after.orElseThrow().revoked());
    assertEquals(Optional.empty(), lookup.find("0c", "device-4"), "the holder only, as ever");
  }

  @Test
  void aSerialNotFound_isFoundOnceRecorded() {
    assertEquals(Optional.empty(), lookup.find("0b", "device-2").map(IssuanceLookup.Issuance::role));

    ledger.record(record("0b", "device-2", Role.DEVICE));

    assertEquals(Optional.of(Role.DEVICE), lookup.find("0b", "device-2").map(IssuanceLookup.Issuance::role));
  }

  @Test
  void moreRecordsThanRemembered_allStillAnsweredRightly() {
    int records = Authenticator.REMEMBERED_ISSUANCES + 10;
    // recorded in one transaction (the ledger's own record() commits each)
    database.inTransaction(connection -> {
      try (PreparedStatement insert = connection.prepareStatement("INSERT INTO issued_certificate (serial, device_id, "
          + "subject, label, not_before, not_after, issued_at, auth_method, auth_detail, public_key_sha256, "
          + "certificate_pem, role) VALUES (?, ?, 'CN=x', ?, 0, 1, 0, 'token', 'token #1', 'key', 'pem', ?)")) {
        for (int i = 0; i < records; i++) {
          insert.setString(1, Integer.toHexString(0x1000 + i));
          insert.setString(2, "device-" + i);
          insert.setString(3, i % 3 == 0 ? "factory" : "");
          insert.setString(4, (i % 2 == 0 ? Role.DEVICE : Role.GATEWAY).column());
          insert.executeUpdate();
        }
      }
      return null;
    });
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < records; i++) {
        String serial = Integer.toHexString(0x1000 + i);
        assertEquals(Optional.of(new IssuanceLookup.Issuance(i % 2 == 0 ? Role.DEVICE : Role.GATEWAY,
            i % 3 == 0 ? "factory" : "")), lookup.find(serial, "device-" + i));
        assertEquals(Optional.empty(), lookup.find(serial, "device-" + (i + 1)));
      }
    }
  }

  private static IssuanceRecord record(String serial, String holder, Role role) {
    return new IssuanceRecord(serial, holder, "CN=" + holder, "", NOW, NOW.plusSeconds(3600), NOW, "token",
        "token #1", null, holder + "-key", "-----BEGIN CERTIFICATE-----\n", null, null, role);
  }
}
