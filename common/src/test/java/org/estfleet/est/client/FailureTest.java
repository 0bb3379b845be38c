package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailureTest {
  @Test
  void aClientError_refusesTheRequest_andDoesNotFailOver() {
    Failure refused = Failure.ofStatus(403, "not yours", null);

    assertEquals(Failure.Kind.REFUSED, refused.kind());
    assertTrue(refused.refusesTheRequest());
    assertFalse(refused.failsOver());
    assertEquals("refused (HTTP 403): not yours", refused.describe());
  }

  @Test
  void tooManyRequests_isNotARefusal_andKeepsItsRetryAfter() {
    Failure limited = Failure.ofStatus(429, "hourly limit", Duration.ofMinutes(20));

    assertEquals(Failure.Kind.TOO_MANY_REQUESTS, limited.kind());
    assertFalse(limited.refusesTheRequest());
    // The limit is this client's: the other endpoints of the same CA keep it too.
    assertFalse(limited.failsOver());
    assertEquals(Duration.ofMinutes(20), limited.retryAfterHint().orElseThrow());
    assertEquals("too many requests (HTTP 429): hourly limit", limited.describe());
  }

  @Test
  void aConnectionEndedWithoutAMessage_saysSo_notNull() {
    Failure lost = Answers.transportFailure(new java.io.IOException("null", new java.io.EOFException()), null);
    Failure worded = Answers.transportFailure(new java.io.IOException(null, new java.io.IOException("Broken pipe")),
        null);

    assertEquals("network error: the connection ended without a whole answer (IOException, EOFException)",
        lost.describe());
    assertEquals("network error: Broken pipe", worded.describe());
  }

  @Test
  void aServerError_isUnavailable_andFailsOver() {
    Failure unavailable = Failure.ofStatus(503, "busy", Duration.ofSeconds(5));

    assertEquals(Failure.Kind.UNAVAILABLE, unavailable.kind());
    assertFalse(unavailable.refusesTheRequest());
    assertTrue(unavailable.failsOver());
  }

  @Test
  void aMisdirectedRequest_isNotARefusal_andFailsOver() {
    Failure misdirected = Failure.ofStatus(421, "this server is a gateway, not a CA", null);

    assertEquals(Failure.Kind.MISDIRECTED, misdirected.kind());
    assertFalse(misdirected.refusesTheRequest(), "another server may take it");
    assertTrue(misdirected.failsOver());
    assertEquals("not the server for this request (HTTP 421): this server is a gateway, not a CA", misdirected.describe());
  }

  @Test
  void aRequestTimeout_isATimeoutOnTheWay_notARefusal() {
    Failure late = Failure.ofStatus(408, "the request body did not arrive within 20s; send it at once", null);

    assertEquals(Failure.Kind.TIMEOUT, late.kind());
    assertFalse(late.refusesTheRequest(), "the same request may be sent again");
    assertTrue(late.failsOver());
    assertEquals("timed out (HTTP 408): the request body did not arrive within 20s; send it at once", late.describe());
    assertTrue(late.answered(), "the server answered, if to say it waited too long");
  }

  @Test
  void answered_isWhetherTheServerSentAnything() {
    assertTrue(Failure.ofStatus(403, "no", null).answered());
    assertTrue(Failure.ofStatus(503, "busy", null).answered());
    assertTrue(new Failure(Failure.Kind.BAD_RESPONSE, 0, "answer too long", null).answered());
    for (Failure.Kind none : java.util.List.of(Failure.Kind.TLS_TRUST, Failure.Kind.TLS_HANDSHAKE,
        Failure.Kind.UNREACHABLE, Failure.Kind.TIMEOUT, Failure.Kind.NETWORK)) {
      assertFalse(new Failure(none, 0, "no answer", null).answered(), none.toString());
    }
  }
}
