package org.estfleet.est.client;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import org.bouncycastle.tls.TlsException;
import org.estfleet.pki.Csr;

/** What both EST clients ({@link EstClient}, {@link KeptAliveEstClient}) make of a server's answer. */
final class Answers {
  /** The largest answer read. */
  static final int READ_LIMIT = 1024 * 1024;
  /** The longest server message kept in a {@link Failure}. */
  static final int MAX_MESSAGE = 500;

  /**
   * The certificate a 200 answer issued for {@code csr}. RFC 7030 4.2.3: the response holds only
   * the issued certificate. Should a server add others (its CA certificates), the one for the
   * CSR's key is it, the others kept beside it; a lone certificate is returned as is, for the
   * caller's checks to judge.
   */
  static EnrollOutcome issuedFor(Csr csr, List<X509Certificate> certificates) {
    for (X509Certificate certificate : certificates) {
      if (Arrays.equals(certificate.getPublicKey().getEncoded(), csr.publicKey().getEncoded())) {
        List<X509Certificate> others = new ArrayList<>(certificates);
        others.remove(certificate);
        return new EnrollOutcome.Issued(certificate, others);
      }
    }
    if (certificates.size() == 1) {
      return new EnrollOutcome.Issued(certificates.get(0));
    }
    return new EnrollOutcome.Failed(new Failure(Failure.Kind.BAD_RESPONSE, 200,
        "the response holds " + certificates.size() + " certificates, none for the key of the CSR", null));
  }

  /**
   * The failure of a request that got no HTTP answer (or an answer the HTTP layer could not
   * read), from what was thrown.
   */
  static Failure transportFailure(Throwable e, Duration retryAfter) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      // The JDK's TLS fails a handshake with an SSLHandshakeException; Bouncy Castle's with its
      // own alerts (TlsFatalAlert sent, TlsFatalAlertReceived), a refused server certificate
      // being certificate_unknown caused by the trust manager's CertificateException.
      if (cause instanceof SSLHandshakeException || cause instanceof TlsException) {
        Throwable handshake = cause;
        for (Throwable inner = handshake; inner != null; inner = inner.getCause()) {
          if (inner instanceof CertificateException certificate) {
            return new Failure(Failure.Kind.TLS_TRUST, 0, clean(certificate.getMessage()), null);
          }
        }
        return new Failure(Failure.Kind.TLS_HANDSHAKE, 0, clean(handshake.getMessage()), null);
      }
      if (cause instanceof ConnectException || cause instanceof NoRouteToHostException) {
        // The JDK's HTTP client throws a ConnectException without a message for a refused connection.
        String message = clean(cause.getMessage());
        return new Failure(Failure.Kind.UNREACHABLE, 0, !message.isEmpty() ? message
            : cause instanceof NoRouteToHostException ? "no route to host" : "connection refused", null);
      }
      if (cause instanceof UnknownHostException) {
        return new Failure(Failure.Kind.UNREACHABLE, 0, "unknown host " + clean(cause.getMessage()), null);
      }
      if (cause instanceof SocketTimeoutException || cause instanceof HttpTimeoutException) {
        return new Failure(Failure.Kind.TIMEOUT, 0, clean(cause.getMessage()), null);
      }
      String message = cause.getMessage();
      if (message != null && message.startsWith("Hostname was not verified")) {
        return new Failure(Failure.Kind.TLS_TRUST, 0, "the server certificate does not name the host: " + clean(message), null);
      }
    }
    return new Failure(Failure.Kind.NETWORK, 0, networkDetail(e), retryAfter);
  }

  /**
   * What went wrong on the way, from the first cause with a message. A connection closed before
   * the answer (an answer lost on the way) often carries none, or the word "null".
   */
  private static String networkDetail(Throwable e) {
    StringBuilder types = new StringBuilder();
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      String message = clean(cause.getMessage());
      if (!message.isEmpty() && !message.equals("null")) {
        return message;
      }
      types.append(types.length() == 0 ? "" : ", ").append(cause.getClass().getSimpleName());
    }
    return "the connection ended without a whole answer (" + types + ")";
  }

  /** One line, without Bouncy Castle's " HTTP Status Code: 0" suffix. */
  static String clean(String message) {
    if (message == null) {
      return "";
    }
    String line = message.replaceAll("\\s+", " ").trim();
    line = line.replace(" HTTP Status Code: 0", "");
    return line.length() > MAX_MESSAGE ? line.substring(0, MAX_MESSAGE) + "..." : line;
  }

  private Answers() {}
}
