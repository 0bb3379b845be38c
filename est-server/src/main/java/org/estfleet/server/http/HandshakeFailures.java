package org.estfleet.server.http;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;
import java.util.logging.Level;
import javax.net.ssl.SSLEngine;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsFatalAlert;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.estfleet.est.EstException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line in the server's log for each TLS handshake a client failed (a certificate whose key
 * usage forbids the signature it made, no protocol or cipher in common, a connection cut in the
 * handshake), with the client's address and the reason; at most {@value #PER_MINUTE} a minute,
 * {@value #PER_ADDRESS} of them from one address, then how many more there were (said with the
 * next failure after that minute), so that clients cannot fill the log, nor one client's burst
 * hide the others' failures. Bouncy Castle's own report
 * of the alerts its TLS server raises (through {@code java.util.logging}: several lines with a
 * stack trace for every internal_error, which it raises for a client certificate whose key usage
 * does not allow signatures) is silenced: this is it, in the log's format.
 */
final class HandshakeFailures implements SslHandshakeListener {
  static final int PER_MINUTE = 20;
  static final int PER_ADDRESS = 5;
  private static final Duration WINDOW = Duration.ofMinutes(1);
  /** Held here: the JDK keeps loggers only weakly, and a collected logger forgets its level. */
  private static final java.util.logging.Logger BCJSSE_SERVER =
      java.util.logging.Logger.getLogger("org.bouncycastle.jsse.provider.ProvTlsServer");

  static {
    BCJSSE_SERVER.setLevel(Level.OFF);
  }

  private final Clock clock;
  private final Consumer<String> info;
  private final Consumer<String> warn;
  private Instant windowStart;
  private int logged;
  private int unlogged;
  /** Lines logged this minute by address: at most {@link #PER_MINUTE} addresses. */
  private final java.util.Map<String, Integer> byAddress = new java.util.HashMap<>();

  /**
   * @param info where a client's failure goes
   * @param warn where an internal_error the server's TLS raised goes ({@link #raisedInternalError})
   */
  HandshakeFailures(Clock clock, Consumer<String> info, Consumer<String> warn) {
    this.clock = clock;
    this.info = info;
    this.warn = warn;
  }

  /** Reporting to the server's log. */
  static HandshakeFailures logged() {
    Logger log = LoggerFactory.getLogger(HandshakeFailures.class);
    return new HandshakeFailures(Clock.systemUTC(), log::info, log::warn);
  }

  @Override
  public synchronized void handshakeFailed(Event event, Throwable failure) {
    Instant now = clock.instant();
    if (windowStart == null || !now.isBefore(windowStart.plus(WINDOW))) {
      if (unlogged > 0) {
        info.accept(unlogged + " more TLS handshake" + (unlogged == 1 ? "" : "s") + " failed in the minute from "
            + windowStart + " (not logged one by one)");
      }
      windowStart = now;
      logged = 0;
      unlogged = 0;
      byAddress.clear();
    }
    SSLEngine engine = event.getSSLEngine();
    String address = String.valueOf(engine.getPeerHost());
    if (logged < PER_MINUTE && byAddress.getOrDefault(address, 0) < PER_ADDRESS) {
      logged++;
      byAddress.merge(address, 1, Integer::sum);
      (raisedInternalError(failure) ? warn : info).accept("TLS handshake with " + address + ":"
          + engine.getPeerPort() + " failed: " + reason(failure));
    } else {
      unlogged++;
    }
  }

  /**
   * Whether this server's TLS (BCJSSE) raised an internal_error: a fault of its own, or the one
   * it raises for a client certificate whose key usage forbids signing. One a client sent is
   * {@link org.bouncycastle.tls.TlsFatalAlertReceived}, not this.
   */
  static boolean raisedInternalError(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
      if (cause instanceof TlsFatalAlert alert && alert.getAlertDescription() == AlertDescription.internal_error) {
        return true;
      }
    }
    return false;
  }

  /**
   * The innermost cause's message, and where it was raised: a TLS implementation's outer
   * exceptions say little more than "handshake failed".
   */
  static String reason(Throwable failure) {
    Throwable innermost = failure;
    while (innermost.getCause() != null && innermost.getCause() != innermost) {
      innermost = innermost.getCause();
    }
    String message = innermost.getMessage() != null ? innermost.getMessage() : innermost.getClass().getSimpleName();
    StackTraceElement[] stack = innermost.getStackTrace();
    String where = stack.length == 0 ? ""
        : " (" + stack[0].getClassName().substring(stack[0].getClassName().lastIndexOf('.') + 1) + "."
            + stack[0].getMethodName() + ")";
    return EstException.oneLine(message + where);
  }
}
