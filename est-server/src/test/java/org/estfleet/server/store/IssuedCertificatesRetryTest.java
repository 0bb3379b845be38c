package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link IssuedCertificates#recordUnlessRetry}: a request for a key its requester was issued a
 * certificate for, by the same credential and under the same label, while that one is valid, is
 * a retry and writes nothing; anything else is a new issuance.
 */
class IssuedCertificatesRetryTest {
  private static final IssuedCertificates.Credential NONE = IssuedCertificates.Credential.NONE;
  private static final Instant ISSUED = Instant.parse("2026-12-05T06:00:00Z");
  private static final Instant NOT_AFTER = ISSUED.plusSeconds(3600);

  @TempDir Path dir;
  private Database database;
  private IssuedCertificates ledger;

  @BeforeEach
  void open() {
    database = Database.open(dir.resolve("estfleet.db"));
    ledger = new IssuedCertificates(database);
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.recordUnlessRetry(record("01", "device-1", "key-1", "certificate serial aa", "", ISSUED), NONE));
  }

  @AfterEach
  void close() {
    database.close();
  }

  @Test
  void theSameKeyByTheSameCredentialUnderTheSameLabel_isARetry_andNothingIsWritten() {
    IssuedCertificates.Outcome outcome =
        ledger.recordUnlessRetry(record("02", "device-1", "key-1", "certificate serial aa", "", ISSUED.plusSeconds(5)),
            NONE);

    assertEquals(IssuedCertificates.Outcome.RETRY, outcome);
    assertEquals(1, ledger.byDevice("device-1").size());
    assertEquals("01", ledger.findRetry("device-1", "key-1", "certificate serial aa", "", ISSUED.plusSeconds(5))
        .orElseThrow().serial());
  }

  @Test
  void anotherKeyCredentialLabelOrDevice_isANewIssuance() {
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.recordUnlessRetry(record("02", "device-1", "key-2", "certificate serial aa", "", ISSUED), NONE));
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.recordUnlessRetry(record("03", "device-1", "key-1", "certificate serial bb", "", ISSUED), NONE));
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.recordUnlessRetry(record("04", "device-1", "key-1", "certificate serial aa", "meters", ISSUED), NONE));
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.recordUnlessRetry(record("05", "device-2", "key-1", "certificate serial aa", "", ISSUED), NONE));
    assertEquals(4, ledger.byDevice("device-1").size());
  }

  @Test
  void onceTheEarlierCertificateExpired_theSameRequestIsANewIssuance() {
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.recordUnlessRetry(record("02", "device-1", "key-1", "certificate serial aa", "", NOT_AFTER), NONE));
  }

  @Test
  void record_doesNotLookForRetries() {
    assertEquals(IssuedCertificates.Outcome.RECORDED,
        ledger.record(record("02", "device-1", "key-1", "certificate serial aa", "", ISSUED)));
  }

  private static IssuanceRecord record(String serial, String device, String key, String credential, String label,
      Instant issued) {
    return new IssuanceRecord(serial, device, "CN=" + device, label, issued, issued.plusSeconds(3600), issued,
        "certificate", credential, null, key, "-----BEGIN CERTIFICATE-----\n", null, null, Role.DEVICE);
  }
}
