package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EstExceptionTest {
  @Test
  void aMessageQuotingControlCharacters_isOneLineWithThemEscaped() {
    EstException refusal = EstException.unauthorized("unknown identity 'dev-x\nInjected: yes\r\u0000\u2028'");

    assertEquals("unknown identity 'dev-x\\nInjected: yes\\r\\u0000\\u2028'", refusal.getMessage());
    assertEquals(401, refusal.status());
    // A backslash the client sent cannot pass for an escape; a bidirectional override is shown, not obeyed.
    assertEquals("CN 'a\\\\nb\\u202egpj.exe'", EstException.forbidden("CN 'a\\nb\u202egpj.exe'").getMessage());
  }

  @Test
  void aLongMessage_isCut_andOneOfTheLimit_isNot() {
    String limit = "x".repeat(EstException.MAX_MESSAGE);

    assertEquals(limit, EstException.notFound(limit).getMessage());
    assertEquals(limit + "...", EstException.notFound(limit + "y").getMessage());
    assertEquals("x".repeat(EstException.MAX_MESSAGE - 1) + "...",
        EstException.notFound("x".repeat(EstException.MAX_MESSAGE - 1) + "\n").getMessage());
  }
}
