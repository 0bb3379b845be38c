package org.estfleet.est.client;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.EstMediaType;
import org.estfleet.est.EstOperation;
import org.estfleet.est.EstPath;
import org.estfleet.pki.Csr;

/**
 * An EST client for many enrollments at one server, as a gateway makes them at its upstream: it
 * keeps its TLS connections open between requests (HTTP/1.1 persistent connections of the JDK's
 * {@link HttpClient}), so that only the first request on a connection pays the TLS handshake.
 * {@link EstClient} opens a new connection, with a new {@link SSLContext}, for every request.
 *
 * <p>A pool of connections belongs to one client certificate (or none) and one set of trust
 * anchors, and lives until the first server certificate it authenticated expires (by the
 * client's clock): a kept connection, or a resumed TLS session, is never used with a server
 * certificate the client would no longer accept. A request made with another certificate or
 * other anchors (a renewed gateway certificate, a root the server rolled over to) starts a new
 * pool, and the old one's idle connections are left to close: a client is made for one
 * certificate at a time. Connections go direct, never through a proxy. The server is
 * authenticated, its name checked and its answers judged as {@link EstClient} does.
 *
 * <p>A request whose connection ends before any of the answer came (end of stream, reset) is sent
 * once more, on a new connection: a connection the server closed while it idled in the pool fails
 * so. Callers send only requests that are safe to send twice (a gateway's forward is: the
 * upstream answers a request id it has seen with the certificate it issued for it).
 */
public final class KeptAliveEstClient {

  private final URI server;
  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Clock clock;
  private final SecureRandom random;
  /** The JSSE provider of the connections; null for the JDK's. */
  private final Provider tlsProvider;
  private final Object lock = new Object();
  private Pool pool;

  /** The connections of one client certificate (or none) and one set of trust anchors. */
  private record Pool(ClientAuth auth, List<X509Certificate> anchors, ServerTrust trust, HttpClient http) {}

  /**
   * @param endpoint the server; only its scheme, host and port are used, as by {@link EstClient}
   * @param readTimeout how long a request may wait for its answer's head, connecting included; the
   *     whole answer, a request sent again included, is due within {@code connectTimeout +
   *     readTimeout}
   */
  public KeptAliveEstClient(URI endpoint, Duration connectTimeout, Duration readTimeout, Clock clock,
      SecureRandom random) {
    this(endpoint, connectTimeout, readTimeout, clock, random, null);
  }

  /**
   * As {@link #KeptAliveEstClient(URI, Duration, Duration, Clock, SecureRandom)}, on the TLS of
   * {@code tlsProvider} (null: the JDK's).
   */
  public KeptAliveEstClient(URI endpoint, Duration connectTimeout, Duration readTimeout, Clock clock,
      SecureRandom random, Provider tlsProvider) {
    Objects.requireNonNull(endpoint, "endpoint");
    if (!"https".equalsIgnoreCase(endpoint.getScheme()) || endpoint.getHost() == null) {
      throw new IllegalArgumentException("an EST server is an https:// URI with a host: " + endpoint);
    }
    this.server = URI.create("https://" + endpoint.getRawAuthority());
    this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
    this.readTimeout = Objects.requireNonNull(readTimeout, "readTimeout");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    this.tlsProvider = tlsProvider;
  }

  /**
   * {@code POST /simpleenroll} or {@code /simplereenroll} with {@code csr}, {@code headers} sent
   * from the start ({@code Authorization} among them is not held back for a challenge).
   *
   * @param auth a client certificate, a token (sent as HTTP Basic unless {@code headers} has an
   *     {@code Authorization}) or none
   * @param anchors the trust anchors that authenticate the server
   */
  public EnrollOutcome enroll(String label, boolean reenroll, Csr csr, ClientAuth auth,
      List<X509Certificate> anchors, Map<String, String> headers) {
    Objects.requireNonNull(auth, "auth");
    Objects.requireNonNull(headers, "headers");
    EstPath path = new EstPath(label, reenroll ? EstOperation.SIMPLE_REENROLL : EstOperation.SIMPLE_ENROLL);
    HttpRequest.Builder builder = HttpRequest.newBuilder(server.resolve(path.path()))
        .timeout(readTimeout)
        .header("Content-Type", EstMediaType.PKCS10)
        .header("Content-Transfer-Encoding", "base64")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Base64Body.encode(csr.der())));
    if (auth instanceof ClientAuth.Token token && headers.keySet().stream().noneMatch("Authorization"::equalsIgnoreCase)) {
      String basic = token.deviceId() + ":" + token.secret();
      builder.header("Authorization",
          "Basic " + Base64.getEncoder().encodeToString(basic.getBytes(StandardCharsets.UTF_8)));
    }
    headers.forEach(builder::header);
    HttpRequest request = builder.build();
    // A token travels in each request; only a client certificate belongs to the connection.
    HttpClient http = pool(auth instanceof ClientAuth.Certificate ? auth : ClientAuth.none(), anchors);
    long deadline = System.nanoTime() + connectTimeout.plus(readTimeout).toNanos();
    for (int attempt = 1; ; attempt++) {
      Attempt sending = new Attempt(deadline);
      try {
        return judge(send(http, request, sending), csr);
      } catch (AnswerTooLong e) {
        return new EnrollOutcome.Failed(new Failure(Failure.Kind.BAD_RESPONSE, 0, e.getMessage(), null));
      } catch (IOException e) {
        Failure failure = Answers.transportFailure(e, null);
        long left = deadline - System.nanoTime();
        if (attempt > 1 || sending.answered() || failure.kind() != Failure.Kind.NETWORK || !brokenBeforeAnyAnswer(e)
            || Thread.currentThread().isInterrupted() || left <= 0) {
          return new EnrollOutcome.Failed(failure);
        }
        // the JDK's timer for the head starts again with each sending: it gets what is left
        request = HttpRequest.newBuilder(request, (name, value) -> true)
            .timeout(Duration.ofNanos(Math.min(left, readTimeout.toNanos())))
            .build();
      }
    }
  }

  /**
   * Whether the connection ended before any of the answer came: the server closed it (end of
   * stream, reset, broken pipe), as it does to a connection that idled in the pool too long.
   */
  private static boolean brokenBeforeAnyAnswer(IOException e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof EOFException
          || (cause instanceof SocketException && !(cause instanceof ConnectException))
          || (cause.getMessage() != null && cause.getMessage().contains("header parser received no bytes"))) {
        return true;
      }
    }
    return false;
  }

  private EnrollOutcome judge(HttpResponse<byte[]> response, Csr csr) {
    int status = response.statusCode();
    Duration retryAfter = EstClient.parseRetryAfter(response.headers().firstValue("Retry-After").orElse(null),
        clock.instant());
    byte[] body = response.body();
    if (status == 200) {
      String type = response.headers().firstValue("Content-Type").orElse(null);
      if (!EstMediaType.hasBaseType(type, EstMediaType.PKCS7_MIME)) {
        return new EnrollOutcome.Failed(new Failure(Failure.Kind.BAD_RESPONSE, status,
            "the answer's Content-Type is " + type + ", not " + EstMediaType.PKCS7_MIME, null));
      }
      try {
        return Answers.issuedFor(csr, CertsOnly.decode(Base64Body.decode(body)));
      } catch (IllegalArgumentException e) {
        return new EnrollOutcome.Failed(new Failure(Failure.Kind.BAD_RESPONSE, status,
            Answers.clean(e.getMessage()), null));
      }
    }
    if (status == 202) {
      return new EnrollOutcome.Pending(retryAfter == null ? Duration.ofMinutes(1) : retryAfter);
    }
    if (status >= 400) {
      String text = Answers.clean(new String(body, 0, Math.min(body.length, Answers.MAX_MESSAGE), StandardCharsets.UTF_8));
      return new EnrollOutcome.Failed(Failure.ofStatus(status, text.isEmpty() ? "HTTP " + status : text, retryAfter));
    }
    return new EnrollOutcome.Failed(new Failure(Failure.Kind.BAD_RESPONSE, status,
        "HTTP " + status + " is not an answer to an enrollment", retryAfter));
  }

  /**
   * Sends and reads the whole answer by the attempt's deadline: the JDK's own request timeout ends
   * when the answer's head arrives, so the body's subscriber holds the rest of the deadline.
   * {@link HttpClient#send} rather than {@code sendAsync}: the answer completes on the thread that
   * read it, where {@code sendAsync} hands every answer to CompletableFuture's default executor,
   * which on Java 17 with two cores starts a new thread per answer.
   */
  private static HttpResponse<byte[]> send(HttpClient http, HttpRequest request, Attempt attempt) throws IOException {
    try {
      return http.send(request, attempt);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the answer");
    } catch (IllegalArgumentException | SecurityException e) {
      throw new IOException(e.toString(), e);
    } catch (IOException e) {
      if (attempt.timedOut()) {
        // the connection closed under the late body may have failed it before the timeout did
        throw new HttpTimeoutException("no whole answer within the connect and read timeouts");
      }
      for (Throwable inner = e; inner != null; inner = inner.getCause()) {
        if (inner instanceof AnswerTooLong tooLong) {
          throw tooLong;
        }
      }
      throw e;
    }
  }

  /** One sending of a request: whether its answer's head came, and whether its body was late. */
  private static final class Attempt implements HttpResponse.BodyHandler<byte[]> {
    private final long deadline;
    private volatile LimitedBody body;

    Attempt(long deadline) {
      this.deadline = deadline;
    }

    @Override
    public HttpResponse.BodySubscriber<byte[]> apply(HttpResponse.ResponseInfo info) {
      LimitedBody subscriber = new LimitedBody(Answers.READ_LIMIT, deadline);
      body = subscriber;
      return subscriber;
    }

    /** Whether the answer's head arrived: a request answered in part is not sent again. */
    boolean answered() {
      return body != null;
    }

    boolean timedOut() {
      LimitedBody subscriber = body;
      return subscriber != null && subscriber.timedOut;
    }
  }

  /** The pool for {@code auth} and {@code anchors}: the current one, or a new one replacing it. */
  private HttpClient pool(ClientAuth auth, List<X509Certificate> anchors) {
    synchronized (lock) {
      if (pool != null && pool.auth().equals(auth) && pool.anchors().equals(anchors)
          && !clock.instant().isAfter(pool.trust().validUntil())) {
        return pool.http();
      }
      SSLContext context;
      ServerTrust trust = new ServerTrust(anchors, clock, true);
      try {
        context = tlsProvider == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", tlsProvider);
        KeyManager[] keyManagers = auth instanceof ClientAuth.Certificate certificate
            ? new KeyManager[] {ClientKeyManager.of(certificate.key(), certificate.chain())}
            : null;
        context.init(keyManagers, new TrustManager[] {trust}, random);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("TLS is not available: " + e.getMessage(), e);
      }
      HttpClient http = HttpClient.newBuilder()
          .sslContext(context)
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(connectTimeout)
          .followRedirects(HttpClient.Redirect.NEVER)
          .proxy(HttpClient.Builder.NO_PROXY)
          .build();
      pool = new Pool(auth, List.copyOf(anchors), trust, http);
      return http;
    }
  }

  /** An answer longer than any EST answer: not a broken connection, and not sent again. */
  private static final class AnswerTooLong extends IOException {
    private static final long serialVersionUID = 1L;

    AnswerTooLong(long limit) {
      super("the answer is longer than " + limit + " bytes");
    }
  }

  /**
   * The answer's body, refused beyond {@code limit} bytes, and failed with an
   * {@link HttpTimeoutException} (its connection closed) when it has not all come by {@code deadline}.
   */
  private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final HttpResponse.BodySubscriber<byte[]> bytes = HttpResponse.BodySubscribers.ofByteArray();
    private final CompletableFuture<byte[]> body = new CompletableFuture<>();
    private final long limit;
    private final long deadline;
    private Flow.Subscription subscription;
    private long received;
    private boolean refused;
    private volatile boolean timedOut;
    private volatile boolean complete;

    LimitedBody(long limit, long deadline) {
      this.limit = limit;
      this.deadline = deadline;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      bytes.getBody().whenComplete((whole, error) -> {
        if (error == null) {
          body.complete(whole);
        } else {
          body.completeExceptionally(error);
        }
      });
      // The flag is up before the body fails, which wakes the sender; the timer is cancelled when
      // the body completes. A late body's connection is closed.
      CompletableFuture<Void> timer = new CompletableFuture<>();
      timer.orTimeout(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
          .whenComplete((nothing, error) -> {
            if (error instanceof TimeoutException) {
              timedOut = true;
              body.completeExceptionally(
                  new HttpTimeoutException("no whole answer within the connect and read timeouts"));
              if (!complete) {
                // a body all read may have given its connection back to the pool: not closed
                subscription.cancel();
              }
            }
          });
      body.whenComplete((whole, error) -> timer.complete(null));
      bytes.onSubscribe(subscription);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (refused) {
        return;
      }
      for (ByteBuffer item : items) {
        received += item.remaining();
      }
      if (received > limit) {
        refused = true;
        subscription.cancel();
        bytes.onError(new AnswerTooLong(limit));
        return;
      }
      bytes.onNext(items);
    }

    @Override
    public void onError(Throwable error) {
      if (!refused) {
        bytes.onError(error);
      }
    }

    @Override
    public void onComplete() {
      complete = true;
      if (!refused) {
        bytes.onComplete();
      }
    }
  }
}
