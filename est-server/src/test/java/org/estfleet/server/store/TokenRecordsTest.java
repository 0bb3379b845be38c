package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TokenRecords#revoke}: an unused token ended by an operator, all or none; and an issuance
 * whose token was revoked after it was checked records nothing.
 */
class TokenRecordsTest {
  private static final Instant MADE = Instant.parse("2026-12-06T20:00:00Z");

  @TempDir Path dir;
  private Database database;
  private TokenRecords tokens;
  private IssuedCertificates ledger;

  @BeforeEach
  void open() {
    database = Database.open(dir.resolve("estfleet.db"));
    tokens = new TokenRecords(database);
    ledger = new IssuedCertificates(database);
  }

  @AfterEach
  void close() {
    database.close();
  }

  private long token(String device) {
    return tokens.insertAll(List.of(device), List.of(new byte[32]), MADE, MADE.plusSeconds(86_400), Role.DEVICE, "")
        .get(0);
  }

  @Test
  void anIssuanceWhoseTokenWasRevokedSinceItsCheck_recordsNothing_andTheTokenStaysUnused() {
    long id = token("device-1");
    tokens.revoke(List.of(id), MADE.plusSeconds(5), "lost in the post");

    IssuedCertificates.Outcome outcome = ledger.record(record("01", "device-1", id));

    assertEquals(IssuedCertificates.Outcome.TOKEN_REVOKED, outcome);
    assertEquals(List.of(), ledger.byDevice("device-1"));
    TokenRecords.TokenRecord token = tokens.byDevice("device-1").get(0);
    assertNull(token.usedAt());
    assertEquals(MADE.plusSeconds(5), token.revokedAt());
    assertEquals("lost in the post", token.revokedReason());
  }

  @Test
  void aUsedTokenAmongThoseNamed_revokesNone_andSaysWhichCertificateToRevoke() {
    long unused = token("device-2");
    long used = token("device-3");
    assertEquals(IssuedCertificates.Outcome.RECORDED, ledger.record(record("0a", "device-3", used)));

    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
        () -> tokens.revoke(List.of(unused, used), MADE.plusSeconds(5), "why"));

    assertTrue(refused.getMessage().startsWith("token #" + used + " of device-3 was used at "), refused.getMessage());
    assertTrue(refused.getMessage().endsWith("revoke that certificate (--serial 0a)"), refused.getMessage());
    assertNull(tokens.byDevice("device-2").get(0).revokedAt(), "all or none");
    assertThrows(IllegalArgumentException.class, () -> tokens.revoke(List.of(999L), MADE, "why"));
  }

  @Test
  void aTokenRevokedTwice_keepsItsFirstRevocation() {
    long id = token("device-4");

    List<TokenRecords.Revoked> first = tokens.revoke(List.of(id), MADE.plusSeconds(1), "first");
    List<TokenRecords.Revoked> second = tokens.revoke(List.of(id), MADE.plusSeconds(2), "second");

    assertFalse(first.get(0).already());
    assertTrue(second.get(0).already());
    assertEquals("first", second.get(0).token().revokedReason());
    assertEquals(MADE.plusSeconds(1), second.get(0).token().revokedAt());
  }

  @Test
  void aDeviceRevoked_revokesItsExpiredUnusedTokensToo_countingTheOnesItEnded() {
    long live = token("device-7");
    long expired = tokens.insertAll(List.of("device-7"), List.of(new byte[32]), MADE, MADE.plusSeconds(60),
        Role.DEVICE, "").get(0);

    Revocations.DeviceRevoked revoked = new Revocations(database).revokeDevice("device-7", MADE.plusSeconds(120),
        "stolen");
    // A request checked before the token expired, consuming it now: refused all the same.
    IssuedCertificates.Outcome late = ledger.record(record("0b", "device-7", expired));

    assertEquals(1, revoked.tokensEnded(), "the one that had not expired");
    for (TokenRecords.TokenRecord token : tokens.byDevice("device-7")) {
      assertEquals(MADE.plusSeconds(120), token.revokedAt(), "token #" + token.id() + " (live #" + live + ")");
    }
    assertEquals(IssuedCertificates.Outcome.TOKEN_REVOKED, late);
  }

  @Test
  void forEach_listsEveryTokenOrADevicesInTheOrderMade() {
    long a = token("device-5");
    long b = token("device-6");
    long c = token("device-5");
    List<Long> all = new ArrayList<>();
    List<Long> device5 = new ArrayList<>();

    tokens.forEach(null, token -> all.add(token.id()));
    tokens.forEach("device-5", token -> device5.add(token.id()));
    List<Long> first = new ArrayList<>();
    tokens.forEach(null, token -> first.add(token.id()) && false);

    assertEquals(List.of(a, b, c), all);
    assertEquals(List.of(a, c), device5);
    assertEquals(List.of(a), first, "stops when told");
  }

  private static IssuanceRecord record(String serial, String device, long tokenId) {
    return new IssuanceRecord(serial, device, "CN=" + device, "", MADE, MADE.plusSeconds(3600), MADE.plusSeconds(10),
        "token", "token #" + tokenId, tokenId, "key-" + serial, "-----BEGIN CERTIFICATE-----\n", null, null,
        Role.DEVICE);
  }
}
