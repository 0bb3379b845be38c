package org.estfleet.bench.load;

import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager that validates each distinct server chain (exact bytes) once per
 * {@link #REMEMBERED}, as a client that reconnects to the same server can, and then only checks
 * that the certificates are still within their validity. est-load shares the machine with the
 * server it measures, and Bouncy Castle's PKIX trust manager builds and validates the path at
 * every handshake, verifying each signature twice: about a third of est-load's CPU on new
 * connections. A chain that fails is never remembered; one with other bytes is validated in full.
 * The full validation includes the host name check (the sockets' endpoint identification): a run
 * contacts one host and port, so the outcome for the same bytes is the same within the minute. A
 * trust manager shared by runs against several hosts would have to remember per host.
 */
final class RememberedServerChains extends X509ExtendedTrustManager {
  static final Duration REMEMBERED = Duration.ofMinutes(1);
  /** More distinct chains than a server presents; beyond it they are all forgotten. */
  private static final int MAX_REMEMBERED = 64;

  private final X509ExtendedTrustManager delegate;
  private final Clock clock;
  /** When each chain (with its auth type) was last validated in full. */
  private final Map<List<ByteBuffer>, Instant> validated = new ConcurrentHashMap<>();

  RememberedServerChains(X509ExtendedTrustManager delegate, Clock clock) {
    this.delegate = delegate;
    this.clock = clock;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, authType, () -> delegate.checkServerTrusted(chain, authType, socket));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, authType, () -> delegate.checkServerTrusted(chain, authType, engine));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, authType, () -> delegate.checkServerTrusted(chain, authType));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    delegate.checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }

  /** The delegate's full validation of a chain. */
  @FunctionalInterface
  private interface Validation {
    void run() throws CertificateException;
  }

  private void check(X509Certificate[] chain, String authType, Validation full) throws CertificateException {
    List<ByteBuffer> key = key(chain, authType);
    if (!remembered(key, chain)) {
      full.run();
      remember(key);
    }
  }

  private boolean remembered(List<ByteBuffer> key, X509Certificate[] chain) throws CertificateException {
    Instant at = validated.get(key);
    Instant now = clock.instant();
    // A clock set back does not stretch the minute.
    if (at == null || now.isBefore(at) || !now.isBefore(at.plus(REMEMBERED))) {
      return false;
    }
    Date date = Date.from(now);
    for (X509Certificate certificate : chain) {
      certificate.checkValidity(date);
    }
    return true;
  }

  private void remember(List<ByteBuffer> key) {
    if (validated.size() >= MAX_REMEMBERED) {
      validated.clear();
    }
    validated.put(key, clock.instant());
  }

  private static List<ByteBuffer> key(X509Certificate[] chain, String authType) throws CertificateEncodingException {
    if (chain == null || chain.length == 0) {
      throw new IllegalArgumentException("the server sent no certificate");
    }
    List<ByteBuffer> key = new ArrayList<>(chain.length + 1);
    key.add(ByteBuffer.wrap(String.valueOf(authType).getBytes(StandardCharsets.UTF_8)));
    for (X509Certificate certificate : chain) {
      key.add(ByteBuffer.wrap(certificate.getEncoded()));
    }
    return List.copyOf(key);
  }
}
