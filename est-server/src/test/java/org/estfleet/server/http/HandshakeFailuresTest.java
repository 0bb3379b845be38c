package org.estfleet.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.estfleet.pki.TestClock;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failed TLS handshakes in the server's log: one line each, the client's address and the reason, bounded. */
class HandshakeFailuresTest {
  @TempDir
  Path dir;

  @Test
  void aClientCertificateWhoseKeyUsageForbidsSigning_failsTheHandshake_loggedOnOneLine() throws Exception {
    TestServer server = TestServer.start(dir.resolve("server"));
    List<LogRecord> bouncyCastle = new ArrayList<>();
    Handler recorder = new Handler() {
      @Override
      public void publish(LogRecord record) {
        if (record.getLoggerName() != null && record.getLoggerName().startsWith("org.bouncycastle.jsse")) {
          bouncyCastle.add(record);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger.getLogger("").addHandler(recorder);
    PrintStream stderr = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      // A certificate for certificate signing only, whose key the client uses to sign its CertificateVerify.
      TestPki.Held signingOnly = TestPki.rootCa("Other Root").issue("device-1", b -> b.keyUsage(KeyUsage.keyCertSign));
      EstTestClient client = EstTestClient.withCertificate(server, signingOnly.privateKey(), signingOnly.chain());
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));

      assertThrows(IOException.class, () -> client.get("/.well-known/est/cacerts"));
      server.close();
    } finally {
      System.setErr(stderr);
      Logger.getLogger("").removeHandler(recorder);
      server.close();
    }

    List<String> lines = captured.toString(StandardCharsets.UTF_8).lines()
        .filter(line -> line.contains("HandshakeFailures")).toList();
    // One line for each connection the client tried (the JDK's client may try again once).
    assertTrue(!lines.isEmpty() && lines.size() <= 2, captured.toString(StandardCharsets.UTF_8));
    for (String line : lines) {
      assertTrue(line.contains("[WARN]"), "internal_error, at WARN: " + line);
      assertTrue(line.matches(".*TLS handshake with 127\\.0\\.0\\.1:\\d+ failed: internal_error\\(80\\) "
          + "\\(JcaTls\\w*Certificate\\.validateKeyUsageBit\\)"), line);
    }
    assertEquals(List.of(), bouncyCastle.stream().map(LogRecord::getMessage).toList(), "Bouncy Castle's own report");
    assertTrue(captured.toString(StandardCharsets.UTF_8).lines().noneMatch(line -> line.startsWith("\tat ")),
        "no stack trace: " + captured);
  }

  @Test
  void atMostPerMinute_andPerAddress_thenHowManyMore() throws Exception {
    TestClock clock = new TestClock(Instant.parse("2026-12-06T12:00:00Z"));
    List<String> log = new ArrayList<>();
    HandshakeFailures failures = new HandshakeFailures(clock, log::add, line -> log.add("WARN " + line));
    SslHandshakeListener.Event noisy = event("192.0.2.7");
    SSLHandshakeException failure = new SSLHandshakeException("handshake failed");
    failure.initCause(new IOException("no protocol in common\nwith the client"));

    // One address's burst first: it does not use up the minute's lines for the others.
    for (int i = 0; i < 2 * HandshakeFailures.PER_ADDRESS; i++) {
      failures.handshakeFailed(noisy, failure);
    }
    for (int i = 1; i <= HandshakeFailures.PER_MINUTE; i++) {
      failures.handshakeFailed(event("198.51.100." + i), failure);
    }
    clock.advance(Duration.ofMinutes(1));
    failures.handshakeFailed(noisy, failure);

    assertEquals(HandshakeFailures.PER_MINUTE + 2, log.size());
    assertTrue(log.get(0).startsWith("TLS handshake with 192.0.2.7:40000 failed: no protocol in common\\nwith the client ("),
        log.get(0));
    assertEquals(HandshakeFailures.PER_ADDRESS, log.stream().filter(line -> line.contains("192.0.2.7:")).count() - 1);
    assertTrue(log.get(HandshakeFailures.PER_ADDRESS).startsWith("TLS handshake with 198.51.100.1:40000 failed: "),
        log.get(HandshakeFailures.PER_ADDRESS));
    // The noisy address's failures beyond its share, and the others' beyond the minute's lines.
    int more = HandshakeFailures.PER_ADDRESS + HandshakeFailures.PER_ADDRESS;
    assertEquals(more + " more TLS handshakes failed in the minute from 2026-12-06T12:00:00Z (not logged one by one)",
        log.get(HandshakeFailures.PER_MINUTE));
    assertEquals(log.get(0), log.get(HandshakeFailures.PER_MINUTE + 1));
  }

  private static SslHandshakeListener.Event event(String host) throws Exception {
    return new SslHandshakeListener.Event(SSLContext.getDefault().createSSLEngine(host, 40_000));
  }

  @Test
  void anInternalErrorThisServerRaised_isAWarning_oneAClientSent_isNot() {
    assertTrue(HandshakeFailures.raisedInternalError(new SSLHandshakeException("failed")
        .initCause(new TlsFatalAlert(AlertDescription.internal_error))));
    assertFalse(HandshakeFailures.raisedInternalError(new SSLHandshakeException("failed")
        .initCause(new TlsFatalAlertReceived(AlertDescription.internal_error))));
    assertFalse(HandshakeFailures.raisedInternalError(new TlsFatalAlert(AlertDescription.protocol_version)));
  }
}
