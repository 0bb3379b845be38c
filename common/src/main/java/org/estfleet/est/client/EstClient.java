package org.estfleet.est.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.CSRRequestResponse;
import org.bouncycastle.est.ESTAuth;
import org.bouncycastle.est.ESTClient;
import org.bouncycastle.est.ESTClientProvider;
import org.bouncycastle.est.ESTException;
import org.bouncycastle.est.ESTResponse;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.bouncycastle.est.jcajce.ChannelBindingProvider;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.est.jcajce.SSLSocketFactoryCreator;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.tls.ChannelBinding;

/**
 * The EST client of the agent and of gateways (towards their upstream): Bouncy Castle's
 * ({@code org.bouncycastle.est}), with what it lacks for a client that must never hang and must
 * know why a request failed:
 *
 * <ul>
 *   <li>a connect timeout (it connects with none) and a read timeout;
 *   <li>server authentication against the caller's explicit trust anchors only, with a message
 *       naming the certificate and the reason when it fails;
 *   <li>the client certificate always presented (the JDK's key manager stays silent when the
 *       server's list of acceptable issuers does not name the certificate's issuer);
 *   <li>{@code Retry-After} of 503 answers, which Bouncy Castle does not expose, captured;
 *   <li>failures classified ({@link Failure.Kind});
 *   <li>PoP linking (RFC 7030 section 3.5) with Bouncy Castle's TLS provider on TLS 1.2, the
 *       one protocol whose binding ({@code tls-unique}) it exposes ({@link ChannelBinding});
 *   <li>HTTP of its own under Bouncy Castle's {@code ESTService} ({@link EstHttpClient}), which
 *       reads the answers of servers Bouncy Castle's own HTTP layer misreads, within a deadline.
 * </ul>
 *
 * A new Bouncy Castle service is built for every request, from the trust anchors passed in: a
 * change of trust anchors takes effect on the next request.
 */
public final class EstClient {

  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Clock clock;
  private final SecureRandom random;
  /** The JSSE provider of connections that need no channel binding; null for the JDK's. */
  private final Provider tlsProvider;

  /** A client on the JDK's TLS (SunJSSE), Bouncy Castle's where PoP linking needs it. */
  public EstClient(Duration connectTimeout, Duration readTimeout, Clock clock, SecureRandom random) {
    this(connectTimeout, readTimeout, clock, random, null);
  }

  /**
   * A client on the TLS of {@code tlsProvider} (null: the JDK's), Bouncy Castle's on TLS 1.2
   * where PoP linking needs it.
   */
  public EstClient(Duration connectTimeout, Duration readTimeout, Clock clock, SecureRandom random,
      Provider tlsProvider) {
    this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
    this.readTimeout = Objects.requireNonNull(readTimeout, "readTimeout");
    this.clock = clock;
    this.random = random;
    this.tlsProvider = tlsProvider;
  }

  /** {@code GET /cacerts} from a server authenticated by {@code anchors}. */
  public CaCertsOutcome caCertificates(URI endpoint, String label, List<X509Certificate> anchors) {
    Session session = open(endpoint, label, anchors, ClientAuth.none(), false);
    try {
      CACertsResponse response = session.service().getCACerts();
      if (!response.hasCertificates()) {
        return new CaCertsOutcome.Failed(new Failure(Failure.Kind.BAD_RESPONSE, 200, "/cacerts held no certificates", null));
      }
      return new CaCertsOutcome.Fetched(convert(response.getCertificateStore().getMatches(null)));
    } catch (IOException | RuntimeException e) {
      return new CaCertsOutcome.Failed(classify(e, session.capture().get()));
    }
  }

  /**
   * {@code GET /csrattrs}: the DER body, or empty for 204 (no attributes).
   */
  public CsrAttrsOutcome csrAttributes(URI endpoint, String label, List<X509Certificate> anchors) {
    Session session = open(endpoint, label, anchors, ClientAuth.none(), false);
    try {
      CSRRequestResponse response = session.service().getCSRAttributes();
      // A 404 is "no attributes" too (RFC 7030 section 4.5.2), as Bouncy Castle reads it; its
      // body, read by the capturing client, no longer makes Bouncy Castle's close of it fail.
      if (!response.hasAttributesResponse()) {
        return new CsrAttrsOutcome.Fetched(Optional.empty());
      }
      return new CsrAttrsOutcome.Fetched(Optional.of(response.getAttributesResponse().getEncoded()));
    } catch (IOException | RuntimeException e) {
      return new CsrAttrsOutcome.Failed(classify(e, session.capture().get()));
    }
  }

  /**
   * {@code POST /simpleenroll} or {@code /simplereenroll} with {@code csr}.
   *
   * @param reenroll whether to use {@code simplereenroll}
   */
  public EnrollOutcome enroll(URI endpoint, String label, boolean reenroll, Csr csr, ClientAuth auth,
      List<X509Certificate> anchors) {
    return enroll(endpoint, label, reenroll, csr, auth, anchors, Map.of());
  }

  /**
   * As {@link #enroll(URI, String, boolean, Csr, ClientAuth, List)}, sending {@code headers} with
   * the request from the start (a gateway's forwarding headers; {@code Authorization} among them
   * is sent without waiting for a challenge).
   */
  public EnrollOutcome enroll(URI endpoint, String label, boolean reenroll, Csr csr, ClientAuth auth,
      List<X509Certificate> anchors, Map<String, String> headers) {
    return enroll(endpoint, label, reenroll, csr, null, auth, anchors, headers);
  }

  /**
   * As {@link #enroll(URI, String, boolean, Csr, ClientAuth, List)}, with the CSR linked to the
   * TLS connection (RFC 7030 section 3.5): once the connection is up, {@code csr} is signed again
   * with {@code key}, the base64 of the connection's channel binding in its challengePassword.
   * The connection uses Bouncy Castle's TLS provider and TLS 1.2, whose {@code tls-unique}
   * binding it exposes.
   *
   * @param key the private key of {@code csr}
   */
  public EnrollOutcome enrollLinked(URI endpoint, String label, boolean reenroll, Csr csr, PrivateKey key,
      ClientAuth auth, List<X509Certificate> anchors) {
    return enroll(endpoint, label, reenroll, csr, Objects.requireNonNull(key, "key"), auth, anchors, Map.of());
  }

  private EnrollOutcome enroll(URI endpoint, String label, boolean reenroll, Csr csr, PrivateKey linkWith,
      ClientAuth auth, List<X509Certificate> anchors, Map<String, String> headers) {
    Session session = open(endpoint, label, anchors, auth, linkWith != null);
    try {
      ESTAuth httpAuth;
      if (!headers.isEmpty()) {
        Map<String, String> copy = Map.copyOf(headers);
        httpAuth = request -> copy.forEach(request::setHeader);
      } else if (auth instanceof ClientAuth.Token token) {
        httpAuth = new HttpAuth(token.deviceId(), token.secret().toCharArray());
      } else {
        httpAuth = null;
      }
      EnrollmentResponse response = linkWith == null
          ? session.service().simpleEnroll(reenroll, new PKCS10CertificationRequest(csr.der()), httpAuth)
          : session.service().simpleEnrollPoP(reenroll, csr.builderWithoutChallengePassword(),
              CsrBuilder.signer(linkWith, csr.publicKey()), httpAuth);
      if (!response.isCompleted()) {
        Duration retryAfter = retryAfter(session.capture().get());
        return new EnrollOutcome.Pending(retryAfter == null ? Duration.ofMinutes(1) : retryAfter);
      }
      return Answers.issuedFor(csr, convert(response.getStore().getMatches(null)));
    } catch (IOException | RuntimeException e) {
      return new EnrollOutcome.Failed(classify(e, session.capture().get()));
    }
  }

  private record Session(ESTService service, AtomicReference<Seen> capture) {}

  /**
   * What the last HTTP response said: its status, {@code Retry-After} header and, for an error
   * (4xx, 5xx), its text, which Bouncy Castle does not see ({@link HttpAnswer}).
   */
  private record Seen(int status, String retryAfter, String errorBody) {}

  private Duration retryAfter(Seen seen) {
    return seen == null ? null : parseRetryAfter(seen.retryAfter(), clock.instant());
  }

  /** @param linking whether the connection must expose its channel binding (Bouncy Castle's TLS 1.2) */
  private Session open(URI endpoint, String label, List<X509Certificate> anchors, ClientAuth auth, boolean linking) {
    AtomicReference<Seen> capture = new AtomicReference<>();
    SSLSocketFactory factory;
    try {
      SSLContext context = linking ? SSLContext.getInstance("TLSv1.2", BouncyCastle.JSSE)
          : tlsProvider != null ? SSLContext.getInstance("TLS", tlsProvider)
          : SSLContext.getInstance("TLS");
      KeyManager[] keyManagers = auth instanceof ClientAuth.Certificate certificate
          ? new KeyManager[] {ClientKeyManager.of(certificate.key(), certificate.chain())}
          : null;
      context.init(keyManagers, new TrustManager[] {new ServerTrust(anchors, clock, false)}, random);
      factory = new TimeoutSocketFactory(context.getSocketFactory(), connectTimeout, readTimeout);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLS is not available: " + e.getMessage(), e);
    }
    SSLSocketFactory sockets = factory;
    SSLSocketFactoryCreator creator = new SSLSocketFactoryCreator() {
      @Override
      public SSLSocketFactory createFactory() {
        return sockets;
      }

      @Override
      public boolean isTrusted() {
        return true;
      }
    };
    int port = endpoint.getPort() < 0 ? 443 : endpoint.getPort();
    String host = endpoint.getHost();
    JsseESTServiceBuilder builder = new JsseESTServiceBuilder((host.contains(":") ? "[" + host + "]" : host) + ":" + port,
        creator);
    ChannelBindingProvider binding = linking ? new TlsUniqueBinding() : null;
    builder.withClientProvider(new ESTClientProvider() {
      @Override
      public ESTClient makeClient() {
        ESTClient client = new EstHttpClient(sockets, binding, connectTimeout.plus(readTimeout));
        return request -> {
          ESTResponse response = client.doRequest(request);
          // What the caller's message and backoff need, which Bouncy Castle does not pass on.
          capture.set(new Seen(response.getStatusCode(), response.getHeader("Retry-After"),
              EstHttpClient.errorText(response)));
          return response;
        };
      }

      @Override
      public boolean isTrusted() {
        return true;
      }
    });
    if (!label.isEmpty()) {
      builder.withLabel(label);
    }
    return new Session(builder.build(), capture);
  }

  /**
   * {@code Retry-After}: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3); null if absent
   * or unreadable.
   */
  static Duration parseRetryAfter(String value, Instant now) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String trimmed = value.trim();
    try {
      long seconds = Long.parseLong(trimmed);
      return seconds < 0 ? null : Duration.ofSeconds(seconds);
    } catch (NumberFormatException e) {
      try {
        Instant at = ZonedDateTime.parse(trimmed, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
      } catch (DateTimeParseException notADate) {
        return null;
      }
    }
  }

  private static List<X509Certificate> convert(Collection<X509CertificateHolder> holders) throws IOException {
    List<X509Certificate> certificates = new ArrayList<>();
    for (X509CertificateHolder holder : holders) {
      certificates.add(Certificates.fromDer(holder.getEncoded()));
    }
    return certificates;
  }

  /** Turns what Bouncy Castle threw into a {@link Failure} an operator can act on. */
  private Failure classify(Exception e, Seen seen) {
    Duration retryAfter = retryAfter(seen);
    if (e instanceof ESTException est && est.getStatusCode() >= 400) {
      int status = est.getStatusCode();
      String body = seen != null && seen.status() == status && !seen.errorBody().isEmpty()
          ? seen.errorBody() : read(est.getBody());
      String message = body.isEmpty() ? "HTTP " + status : body;
      return Failure.ofStatus(status, message, retryAfter);
    }
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof HttpAnswer.MalformedAnswerException malformed) {
        return new Failure(Failure.Kind.BAD_RESPONSE, seen == null ? 0 : seen.status(), malformed.getMessage(), null);
      }
    }
    if (e instanceof ESTException est && est.getStatusCode() == 200) {
      // An answer that came whole, whose content Bouncy Castle could not read ("Decoding CACerts").
      return new Failure(Failure.Kind.BAD_RESPONSE, 200, Answers.clean(est.getMessage()), null);
    }
    return Answers.transportFailure(e, retryAfter);
  }

  private static String read(InputStream body) {
    if (body == null) {
      return "";
    }
    try (InputStream in = body) {
      return Answers.clean(new String(in.readNBytes(Answers.MAX_MESSAGE), StandardCharsets.UTF_8));
    } catch (IOException e) {
      return "";
    }
  }

  /** The {@code tls-unique} binding of a Bouncy Castle TLS 1.2 connection, which Bouncy Castle's EST client uses. */
  private static final class TlsUniqueBinding implements ChannelBindingProvider {
    @Override
    public boolean canAccessChannelBinding(Socket socket) {
      return socket instanceof SSLSocket ssl && ChannelBinding.of(ssl).isPresent();
    }

    @Override
    public byte[] getChannelBinding(Socket socket, String requested) {
      if (!ChannelBinding.TLS_UNIQUE.equals(requested) || !(socket instanceof SSLSocket ssl)) {
        return null;
      }
      return ChannelBinding.of(ssl).map(ChannelBinding::value).orElse(null);
    }
  }

  /**
   * Connects with a timeout before TLS starts. Bouncy Castle's EST client calls
   * {@code createSocket(host, port)}, which on its own blocks as long as the operating system
   * lets a connect hang (minutes).
   */
  private static final class TimeoutSocketFactory extends SSLSocketFactory {
    private final SSLSocketFactory delegate;
    private final int connectMillis;
    private final int readMillis;

    TimeoutSocketFactory(SSLSocketFactory delegate, Duration connect, Duration read) {
      this.delegate = delegate;
      this.connectMillis = (int) Math.min(Integer.MAX_VALUE, connect.toMillis());
      this.readMillis = (int) Math.min(Integer.MAX_VALUE, read.toMillis());
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      Socket raw = new Socket();
      try {
        raw.connect(new InetSocketAddress(host, port), connectMillis);
        raw.setSoTimeout(readMillis);
        return delegate.createSocket(raw, host, port, true);
      } catch (IOException | RuntimeException e) {
        raw.close();
        throw e;
      }
    }

    @Override
    public Socket createSocket(Socket socket, String host, int port, boolean autoClose) throws IOException {
      return delegate.createSocket(socket, host, port, autoClose);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
      return delegate.createSocket(host, port, localHost, localPort);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return createSocket(host.getHostAddress(), port);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
      return delegate.createSocket(address, port, localAddress, localPort);
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return delegate.getSupportedCipherSuites();
    }
  }
}
