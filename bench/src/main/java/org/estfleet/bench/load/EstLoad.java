package org.estfleet.bench.load;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.ServerGeneratedKey;
import org.estfleet.json.DurationText;
import org.estfleet.json.Json;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.tls.KeyExchangeGroups;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-load}: an EST (RFC 7030) load generator for any server. {@code --concurrency}
 * workers send {@code --op} requests to the one URL given, each on a new TLS connection or on a
 * kept-alive one, until {@code --count} requests or {@code --duration} (whichever comes first;
 * 10s when neither is given, never more than an hour). A progress line every second; at the end
 * the throughput, the outcomes by status, and HdrHistogram latency percentiles, also as JSON and
 * as a plottable {@code .hgrm} percentile file.
 */
@Command(name = "est-load", mixinStandardHelpOptions = true, versionProvider = EstLoad.Version.class,
    description = "Load an EST (RFC 7030) server: cacerts, simpleenroll, simplereenroll or serverkeygen, at a fixed "
        + "concurrency, bounded in count and time; prints throughput, outcomes and latency percentiles.")
public final class EstLoad implements Callable<Integer> {
  static final int EXIT_OK = 0;
  static final int EXIT_FAILURE = 1;
  static final int EXIT_USAGE = 2;
  /** Interrupted (SIGINT or SIGTERM) after the run began; what was measured until then is reported. */
  static final int EXIT_INTERRUPTED = 130;
  /** How long an interrupted run waits for requests in flight to end before it reports without them. */
  private static final Duration INTERRUPT_GRACE = Duration.ofSeconds(2);
  /**
   * A worker whose connection was refused, or whose handshake refused the server's certificate,
   * waits this long before its next attempt: no retry changes either.
   */
  static final Duration FAILURE_PAUSE = Duration.ofMillis(100);
  private static final Duration MAX_DURATION = Duration.ofHours(1);

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = EstLoad.class.getPackage().getImplementationVersion();
      return new String[] {"est-load " + (version == null ? "development" : version) + " (EST Fleet)"};
    }
  }

  /** The EST operations est-load can send. */
  enum Op { cacerts, simpleenroll, simplereenroll, serverkeygen }

  @Spec
  CommandSpec spec;

  @Option(names = "--url", required = true, paramLabel = "URL",
      description = "The server: https://HOST:PORT (EST at /.well-known/est), or the full EST base such as "
          + "https://HOST:PORT/.well-known/est/LABEL. Only this host and port are contacted.")
  URI url;

  @Option(names = "--op", required = true, paramLabel = "OP",
      description = "cacerts, simpleenroll, simplereenroll or serverkeygen.")
  Op op;

  @Option(names = "--concurrency", paramLabel = "N", defaultValue = "8", description = "Parallel workers (default 8).")
  int concurrency;

  @Option(names = "--count", paramLabel = "N", description = "Stop after N requests.")
  Long count;

  @Option(names = "--duration", paramLabel = "DURATION", description = "Stop after this long, e.g. 30s (at most 1h).")
  Duration duration;

  @Option(names = "--rate", paramLabel = "PER_SECOND",
      description = "Open loop: send this many requests a second in all, on a fixed schedule, whatever the answers "
          + "(default: closed loop, each worker sends its next request when the last is answered). Latency then "
          + "counts from each request's scheduled time, so a server falling behind shows it.")
  Double rate;

  @Option(names = "--new-connection-per-request",
      description = "A new TCP and TLS connection for every request (default: keep-alive connections).")
  boolean newConnection;

  @Option(names = "--tls-resumption",
      description = "With --new-connection-per-request, resume TLS sessions (default: a full handshake each time, "
          + "as many distinct devices would).")
  boolean resumption;

  @Option(names = "--server-name", paramLabel = "NAME",
      description = "The server's name when --url gives its address (or another name): sent in SNI and Host, and "
          + "the name its certificate must have (default: the host of --url).")
  String serverName;

  @Option(names = "--trust", required = true, paramLabel = "CAFILE", description = "PEM roots that authenticate the server.")
  Path trust;

  @Option(names = "--validate-every-handshake",
      description = "Validate the server's chain against --trust at every handshake (default: each distinct chain "
          + "once a minute, as a client that reconnects can; the full validation is about a third of est-load's "
          + "CPU on new connections, taken from the server under test).")
  boolean validateEveryHandshake;

  @Option(names = "--basic", paramLabel = "USER:PASSWORD",
      description = "HTTP Basic on every request (simpleenroll and serverkeygen enroll CN=USER).")
  String basic;

  @Option(names = "--tokens", paramLabel = "FILE",
      description = "Lines ID:TOKEN (as from est-server token --count); each simpleenroll or serverkeygen uses one, "
          + "for CN=ID. "
          + "simplereenroll uses them to enroll its client identities first.")
  Path tokens;

  @Option(names = "--identities", paramLabel = "N",
      description = "simplereenroll: client certificates to enroll first (default: one per worker). With more "
          + "than --concurrency, each worker takes its share in turn, the next at each new connection, so the "
          + "server sees certificates it has not validated lately, as when a fleet renews.")
  Integer identities;

  @Option(names = "--tls", paramLabel = "VERSION", defaultValue = "1.3", description = "1.2 or 1.3 (default 1.3).")
  String tls;

  @Option(names = "--tls-provider", paramLabel = "PROVIDER", defaultValue = "SunJSSE",
      description = "The client's TLS implementation: SunJSSE (the JDK's, default) or BCJSSE (Bouncy Castle's, "
          + "cheaper handshakes: more of the machine left to the server under test).")
  String tlsProvider;

  @Option(names = "--groups", paramLabel = "LIST", split = ",",
      description = "The TLS key exchange groups to offer, most preferred first, e.g. x25519 or X25519MLKEM768,x25519 "
          + "(default: the TLS provider's; Bouncy Castle's offers the hybrid post-quantum X25519MLKEM768 first). "
          + "With SunJSSE, Java 20 or later.")
  List<String> groups;

  /** {@link #groups} as standard names, set by {@link #checkUsage}; null: the provider's default. */
  private String[] groupNames;

  @Option(names = "--key-type", paramLabel = "TYPE", defaultValue = "ec-p256",
      description = "Keys of the CSRs: ec-p256 (a new key per request) or rsa-2048 (for simpleenroll from a pool of "
          + "--key-pool keys).")
  String keyType;

  @Option(names = "--key-pool", paramLabel = "N",
      description = "simpleenroll: keys made ahead and reused by CSRs (default: 0 for ec-p256, a new key each time; "
          + "32 for rsa-2048). Never for simplereenroll, which makes a new key each time. serverkeygen: 1 (its "
          + "CSR's key only names the type of key the server is to generate).")
  Integer keyPool;

  @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30s",
      description = "Connect and read timeout of each request (default 30s).")
  Duration timeout;

  @Option(names = "--json", paramLabel = "FILE", description = "Write the result as JSON.")
  Path json;

  @Option(names = "--hgrm", paramLabel = "FILE", description = "Write the latency percentile distribution (ms), plottable.")
  Path hgrm;

  @Option(names = "--quiet", description = "No progress line.")
  boolean quiet;

  @Option(names = "--warmup", paramLabel = "DURATION",
      description = "Run the same load this long first, unrecorded (the JIT of both ends warms up); "
          + "kept-alive connections opened in it carry over.")
  Duration warmup;

  /** Set once the run has begun: an interruption from then on is reported. */
  private final AtomicBoolean running = new AtomicBoolean();
  /** Set by {@link #interrupt}: the workers stop, requests in flight are dropped. */
  private final AtomicBoolean interrupted = new AtomicBoolean();
  private volatile long interruptedAt;
  /** Counted down when {@link #call} has reported and returned. */
  private final CountDownLatch finished = new CountDownLatch(1);
  /** Every socket open or opening, for an interruption to close: it ends every wait on them. */
  private final java.util.Set<java.net.Socket> sockets = ConcurrentHashMap.newKeySet();

  public static void main(String[] args) {
    CommandLine commandLine = commandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    EstLoad load = commandLine.getCommand();
    // Ctrl-C or a TERM signal ends the run early but still reports what it measured (and writes
    // --json and --hgrm): the JVM waits in this hook for that report.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> load.interrupt(Duration.ofSeconds(10)), "est-load-interrupted"));
    System.exit(commandLine.execute(args));
  }

  /**
   * Ends a run early: the workers stop, requests in flight are not counted, and {@link #call}
   * reports what was measured until now. Waits for that report, at most {@code wait}; returns at
   * once when no run has begun or it has already ended.
   */
  void interrupt(Duration wait) {
    if (!running.get() || finished.getCount() == 0) {
      return;
    }
    interruptedAt = System.nanoTime();
    interrupted.set(true);
    // Workers waiting on a connect, a handshake or an answer, or enrolling identities, stop now.
    for (java.net.Socket socket : sockets) {
      HttpsConnection.abort(socket);
    }
    try {
      finished.await(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The configured command line, writing to {@code out} and {@code err}. */
  public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine commandLine = new CommandLine(new EstLoad());
    commandLine.setOut(out);
    commandLine.setErr(err);
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.registerConverter(Duration.class, text -> {
      try {
        return DurationText.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    });
    commandLine.setParameterExceptionHandler((e, args) -> {
      e.getCommandLine().getErr().println("est-load: " + e.getMessage() + " (see: est-load --help)");
      return EXIT_USAGE;
    });
    commandLine.setExecutionExceptionHandler((e, failed, parseResult) -> {
      failed.getErr().println("est-load: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return e instanceof IllegalArgumentException ? EXIT_USAGE : EXIT_FAILURE;
    });
    return commandLine;
  }

  @Override
  public Integer call() throws Exception {
    checkUsage();
    running.set(true);
    try {
      return run(spec.commandLine().getOut(), spec.commandLine().getErr());
    } finally {
      finished.countDown();
    }
  }

  private int run(PrintWriter out, PrintWriter err) throws Exception {
    String[] protocols = {tls.equals("1.2") ? "TLSv1.2" : "TLSv1.3"};
    KeyAlgorithm algorithm = keyType.equals("rsa-2048") ? KeyAlgorithm.RSA_2048 : KeyAlgorithm.EC_P256;
    // A re-enrollment needs a key its identity has not had certified: a server answers a key it
    // certified before with that certificate again (a client's retry), which would be measured.
    // cacerts sends no CSR.
    // serverkeygen's CSR key only names the type of key wanted: one, made ahead, unless --key-pool.
    int pool = op == Op.serverkeygen ? (keyPool != null && keyPool > 0 ? keyPool : 1)
        : op != Op.simpleenroll ? 0 : keyPool != null ? keyPool : algorithm == KeyAlgorithm.RSA_2048 ? 32 : 0;
    SecureRandom random = new SecureRandom();
    List<X509Certificate> roots;
    try {
      roots = Pem.readCertificates(trust);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--trust: " + e.getMessage(), e);
    }
    TrustManager[] trustManagers = trustManagers(roots);
    if (groupNames != null) {
      // A group the provider cannot use would be left out of every handshake, unsaid, and the
      // run labelled with it.
      List<String> missing = KeyExchangeGroups.leftOut(context(null, trustManagers, random), groupNames, protocols[0]);
      if (!missing.isEmpty()) {
        List<String> sent = new ArrayList<>(List.of(groupNames));
        sent.removeAll(missing);
        throw new IllegalArgumentException("--groups: " + tlsProvider + " on Java " + Runtime.version().feature()
            + " cannot offer " + String.join(",", missing) + (protocols[0].equals("TLSv1.2") ? " in TLS 1.2" : "")
            + " (of " + String.join(",", groupNames) + " it offers " + (sent.isEmpty() ? "none" : String.join(",", sent))
            + ")");
      }
    }
    String basePath = basePath(url);
    Workload workload;
    try {
      workload = Workload.of(op, basePath, basic, tokens, algorithm, pool, random);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException("--tokens: " + tokens + ": no such file", e);
    } catch (IOException e) {
      throw new IllegalArgumentException("--tokens: " + e.getMessage(), e);
    }
    int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());

    // Client identities for simplereenroll, enrolled before the clock starts.
    List<ClientIdentities.Identity> clients = new ArrayList<>();
    if (op == Op.simplereenroll) {
      int wanted = identities == null ? concurrency : identities;
      if (tokens != null && workload.tokensLeft() < wanted) {
        // Said before any token is spent: those would be used up by a run that cannot go on.
        throw new IllegalArgumentException("--tokens: " + workload.tokensLeft() + " token"
            + (workload.tokensLeft() == 1 ? "" : "s") + " for " + wanted + " client identities (--identities, "
            + "default one per worker)");
      }
      SSLSocketFactory anonymous = context(null, trustManagers, random).getSocketFactory();
      try {
        caCertificates = caCertificates(url, basePath, anonymous, protocols, timeoutMillis, err);
      } catch (IOException e) {
        if (interrupted.get()) {
          err.println("est-load: interrupted before the run began; nothing measured");
          return EXIT_INTERRUPTED;
        }
        throw new IllegalStateException("reading /cacerts before enrolling the client identities failed: "
            + explain(e), e);
      }
      for (int i = 0; i < wanted && !interrupted.get(); i++) {
        try {
          clients.add(enrollIdentity(url, workload, anonymous, protocols, timeoutMillis, random));
        } catch (IllegalArgumentException e) {
          throw e;
        } catch (Exception e) {
          if (interrupted.get()) {
            break; // its socket closed by the interruption
          }
          throw new IllegalStateException("enrolling client identity " + (i + 1) + " of " + wanted + " failed: "
              + (e.getMessage() == null ? e.getClass().getSimpleName() : explain(e)), e);
        }
      }
      err.println("est-load: enrolled " + clients.size() + " client identit" + (clients.size() == 1 ? "y" : "ies")
          + " for simplereenroll");
    }
    if (interrupted.get()) {
      err.println("est-load: interrupted before the run began; nothing measured");
      return EXIT_INTERRUPTED;
    }

    // Each worker's TLS context is made before the clock starts (costly in BCJSSE, and not what
    // is measured), and kept for both phases. On kept-alive runs the workers' connections
    // opened in the warm-up carry over into the measured phase: it then measures requests, not
    // the opening of connections, which would all fall in its first second and, in an open loop,
    // delay the requests scheduled then.
    List<SSLContext> contexts = new ArrayList<>();
    List<ClientIdentities> workerIdentities = new ArrayList<>();
    for (int w = 0; w < concurrency; w++) {
      ClientIdentities mine = clients.isEmpty() ? null : new ClientIdentities(share(clients, w));
      workerIdentities.add(mine);
      contexts.add(context(mine == null ? null : new KeyManager[] {mine.keyManager()}, trustManagers, random));
    }
    HttpsConnection[] connections = new HttpsConnection[concurrency];
    int tokensBeforeWarmup = workload.tokensLeft();
    if (warmup != null) {
      if (!quiet) {
        err.println("est-load: warming up for " + DurationText.format(warmup) + ", not measured");
        err.flush();
      }
      phase(warmup, Long.MAX_VALUE, workload, workerIdentities, contexts, connections, !newConnection, protocols,
          timeoutMillis, err, false);
      if (interrupted.get()) {
        err.println("est-load: interrupted during the warm-up; nothing measured");
        return EXIT_INTERRUPTED;
      }
      // Workers that ended the warm-up waiting on a handshake (beyond the server's connection
      // limit) kept the others' connections idle meanwhile, and the server may have closed them.
      for (int w = 0; w < concurrency; w++) {
        if (connections[w] != null && connections[w].closedMeanwhile()) {
          connections[w].close();
          connections[w] = null;
        }
      }
    }
    if (interrupted.get()) { // between the phases, or while the workers' TLS contexts were made
      err.println("est-load: interrupted before the run began; nothing measured");
      return EXIT_INTERRUPTED;
    }
    Duration limit = duration != null ? duration : count != null ? MAX_DURATION : Duration.ofSeconds(10);
    Phase measured = phase(limit, count == null ? Long.MAX_VALUE : count, workload, workerIdentities, contexts,
        connections, false, protocols, timeoutMillis, err, !quiet);
    double seconds = measured.seconds();
    Histogram total = measured.latency();
    LongAdder okCount = measured.ok();
    Map<String, LongAdder> outcomes = measured.outcomes();

    Map<String, Long> counts = new TreeMap<>();
    outcomes.forEach((k, v) -> counts.put(k, v.sum()));
    long requests = counts.values().stream().mapToLong(Long::longValue).sum();
    long ok = okCount.sum();
    // No latency when nothing succeeded: zeros would read as a measurement.
    LoadResult.Latency latency = ok == 0 ? null
        : new LoadResult.Latency(ms(total.getValueAtPercentile(50)), ms(total.getValueAtPercentile(90)),
            ms(total.getValueAtPercentile(99)), ms(total.getValueAtPercentile(99.9)), ms(total.getMaxValue()),
            round(total.getMean() / 1000.0));
    LoadResult result = new LoadResult("est-load", url.toString(), serverName, op.name(), concurrency, newConnection,
        newConnection && resumption, rate, "TLSv" + tls, tlsProvider,
        groupNames == null ? null : List.of(groupNames), algorithm == KeyAlgorithm.RSA_2048 ? "rsa-2048" : "ec-p256",
        Runtime.version().toString(), round(seconds), interrupted.get(), requests, ok,
        seconds > 0 ? round(ok / seconds) : 0, counts, latency, warmup == null ? null : round(warmup.toMillis() / 1000.0),
        clients.isEmpty() ? null : clients.size(), rate == null ? null : measured.unsent(), measured.reconnected(),
        count, duration == null ? null : round(duration.toMillis() / 1000.0), round(timeout.toMillis() / 1000.0),
        op == Op.simpleenroll || op == Op.serverkeygen ? pool : null, validateEveryHandshake);
    out.println(summary(result));
    new TreeMap<>(measured.firstErrors()).forEach((outcome, reason) ->
        err.println("est-load: " + outcome + ", the first: " + reason));
    if (!interrupted.get() && workload.usesTokens() && workload.tokensLeft() == 0
        && (count == null || requests < count)) {
      err.println("est-load: the tokens ran out after " + requests + " request" + (requests == 1 ? "" : "s")
          + (count == null ? "" : " of " + count)
          + (warmup == null ? "" : " (and " + (tokensBeforeWarmup - requests) + " in the warm-up)")
          + "; the run ended early (make more: est-server token --device ID --count N)");
    }
    if (json != null) {
      Files.writeString(json, Json.write(result), StandardCharsets.UTF_8);
    }
    if (hgrm != null) {
      try (PrintStream file = new PrintStream(Files.newOutputStream(hgrm), true, StandardCharsets.UTF_8)) {
        total.outputPercentileDistribution(file, 1000.0);
      }
    }
    if (interrupted.get()) {
      return EXIT_INTERRUPTED;
    }
    if (ok == 0) {
      err.println("est-load: no request succeeded (" + counts + ")");
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  }

  /** What one phase of load measured. */
  private record Phase(double seconds, Histogram latency, LongAdder ok, Map<String, LongAdder> outcomes,
      Map<String, String> firstErrors, long unsent, long reconnected) {}

  /**
   * Whether a failure is the setup's rather than the load's: nothing listening, or a server
   * certificate the handshake refused (not under --trust, or for another name). A reset or a
   * timeout under load is not paced, so an overloaded server is measured as it is.
   */
  static boolean isPersistent(Throwable failure) {
    if (failure instanceof ConnectException) {
      return true;
    }
    if (!(failure instanceof SSLHandshakeException)) {
      return false;
    }
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof CertificateException) {
        return true;
      }
    }
    return false;
  }

  /** {@link #reasons}, and what to try when the server refused the TLS version. */
  private String explain(Throwable e) {
    String reasons = reasons(e);
    return tls.equals("1.3") && reasons.contains("protocol_version")
        ? reasons + " (does the server speak TLS 1.3? est-load offers only the --tls version: try --tls 1.2)"
        : reasons;
  }

  /** An exception's messages down its causes, for the one line that says why requests failed. */
  private static String reasons(Throwable e) {
    StringBuilder text = new StringBuilder();
    for (Throwable t = e; t != null && text.length() < 400; t = t.getCause()) {
      if (t.getMessage() != null && text.indexOf(t.getMessage()) < 0) {
        text.append(text.length() == 0 ? "" : ": ").append(t.getMessage());
      }
    }
    return text.length() == 0 ? e.getClass().getName() : text.toString().replaceAll("[\\r\\n]+", " ");
  }

  /**
   * Runs the workers for {@code limit} or {@code maxRequests}, whichever ends first. Worker
   * {@code w} uses {@code contexts[w]} and the client identities {@code workerIdentities[w]} (null
   * for none), starts with {@code connections[w]} if there is one, and leaves its connection there
   * if {@code keepConnections}, else closes it.
   */
  private Phase phase(Duration limit, long maxRequests, Workload workload, List<ClientIdentities> workerIdentities,
      List<SSLContext> contexts, HttpsConnection[] connections, boolean keepConnections, String[] protocols,
      int timeoutMillis, PrintWriter err, boolean live) throws InterruptedException {
    Recorder recorder = new Recorder(3);
    Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
    Map<String, String> firstErrors = new ConcurrentHashMap<>();
    AtomicLong started = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    LongAdder okCount = new LongAdder();
    Histogram total = new Histogram(3);
    List<Thread> workers = new ArrayList<>();
    long begin = System.nanoTime();
    long deadline = begin + limit.toNanos();
    // Open loop: each worker sends every `interval`, the workers' schedules evenly interleaved.
    long interval = rate == null ? 0 : Math.max(1, Math.round(concurrency * 1e9 / rate));
    java.util.concurrent.atomic.AtomicLongArray sentBy = new java.util.concurrent.atomic.AtomicLongArray(concurrency);
    LongAdder reconnected = new LongAdder();
    for (int w = 0; w < concurrency; w++) {
      long offset = interval * w / concurrency;
      ClientIdentities mine = workerIdentities.get(w);
      int slot = w;
      SSLContext shared = contexts.get(w);
      Thread worker = new Thread(() -> {
        HttpsConnection connection = connections[slot];
        connections[slot] = null;
        long sent = 0;
        try {
          while (!stop.get() && !interrupted.get() && System.nanoTime() < deadline) {
            long scheduled = 0;
            if (interval > 0) {
              scheduled = begin + offset + sent++ * interval;
              long early = scheduled - System.nanoTime();
              if (early > 0) {
                LockSupport.parkNanos(early);
              }
              if (System.nanoTime() >= deadline) {
                break;
              }
            }
            if (started.incrementAndGet() > maxRequests) {
              stop.set(true);
              break;
            }
            boolean fresh = connection == null || !connection.reusable();
            // A new connection may present the worker's next identity; the CSR names the
            // connection's, as the server requires of a re-enrollment.
            ClientIdentities.Identity identity = mine == null ? null
                : fresh ? mine.forNewConnection() : mine.current();
            Workload.Request request = workload.next(identity == null ? null : identity.subject());
            if (request == null) {
              stop.set(true);
              break;
            }
            sentBy.incrementAndGet(slot);
            long t0 = interval > 0 ? scheduled : System.nanoTime();
            String outcome;
            try {
              if (fresh) {
                if (connection != null) {
                  connection.close();
                }
                // One context per worker: a new one per connection would measure the making of
                // TLS contexts (costly in BCJSSE) more than handshakes.
                connection = HttpsConnection.open(url, serverName, shared.getSocketFactory(), protocols,
                    groupNames, timeoutMillis, sockets);
              }
              if (interrupted.get()) {
                break;
              }
              HttpsConnection.Response response;
              try {
                response = connection.exchange(request.method(), request.path(), request.headers(), request.body());
              } catch (IOException idle) {
                if (fresh || interrupted.get() || !connection.closedWhileIdle(idle)) {
                  throw idle;
                }
                // The server closed this kept-alive connection while it was idle, before the
                // request: sent once more on a new one (same identity), not counted as a failure.
                reconnected.increment();
                connection.abort();
                connection = null;
                connection = HttpsConnection.open(url, serverName, shared.getSocketFactory(), protocols,
                    groupNames, timeoutMillis, sockets);
                response = connection.exchange(request.method(), request.path(), request.headers(), request.body());
              }
              outcome = Integer.toString(response.status());
              String bad = response.status() != 200 ? null : request.serverKeygen()
                  ? badGeneratedKey(response.headers().get("content-type"), response.body())
                  : badBody(response.body(), request.key());
              if (bad != null) {
                outcome = "bad-body";
                firstErrors.putIfAbsent(outcome, bad);
              }
            } catch (IOException | RuntimeException e) {
              if (interrupted.get()) {
                break; // aborted by the interruption: not the server's doing
              }
              outcome = "io:" + e.getClass().getSimpleName();
              firstErrors.putIfAbsent(outcome, explain(e));
              if (connection != null) {
                connection.abort(); // no close_notify to a server that failed the exchange
                connection = null;
              }
              if (isPersistent(e)) {
                // Retrying at once would spin (tens of thousands of refusals a second, or a full
                // handshake after another), taking the CPU from whatever shares this machine.
                LockSupport.parkNanos(FAILURE_PAUSE.toNanos());
              }
            }
            if (interrupted.get()) {
              break; // ended after the interruption: outside the measured time
            }
            long micros = Math.max(1, (System.nanoTime() - t0) / 1000);
            if (outcome.equals("200")) {
              recorder.recordValue(micros);
              okCount.increment();
            }
            outcomes.computeIfAbsent(outcome, k -> new LongAdder()).increment();
            if (newConnection && connection != null) {
              if (resumption) {
                connection.close();
              } else {
                connection.closeForgettingSession();
              }
              connection = null;
            }
          }
        } finally {
          if (connection != null && keepConnections && connection.reusable()) {
            connections[slot] = connection;
          } else if (connection != null) {
            connection.close();
          }
        }
      }, "est-load-" + w);
      worker.setDaemon(true);
      workers.add(worker);
    }
    workers.forEach(Thread::start);
    long lastOk = 0;
    long lastAt = begin;
    long graceEnd = 0;
    waiting:
    for (Thread worker : workers) {
      while (worker.isAlive()) {
        if (interrupted.get()) {
          if (graceEnd == 0) {
            // interrupt() closed every socket: the workers are ending.
            graceEnd = System.nanoTime() + INTERRUPT_GRACE.toNanos();
          }
          long left = graceEnd - System.nanoTime();
          if (left <= 0) {
            break waiting; // a worker still connecting: it records nothing now
          }
          worker.join(Math.max(1, left / 1_000_000));
          continue;
        }
        worker.join(100);
        long now = System.nanoTime();
        if (live && now - lastAt >= 1_000_000_000L) {
          total.add(recorder.getIntervalHistogram());
          long done = okCount.sum();
          err.printf(Locale.ROOT, "[%6.1fs] %d ok (%.0f/s now), %d other%n", (now - begin) / 1e9, done,
              (done - lastOk) / ((now - lastAt) / 1e9), errors(outcomes));
          err.flush();
          lastOk = done;
          lastAt = now;
        }
      }
    }
    total.add(recorder.getIntervalHistogram());
    long end = interrupted.get() ? Math.min(interruptedAt, System.nanoTime()) : System.nanoTime();
    // Open loop: the requests scheduled within the run that a worker, still waiting for an
    // answer, never sent (too few workers for the rate against this server's latency).
    // Only for a run that ended at its deadline: one ended by --count, by the tokens or by an
    // interruption left its workers' later slots unsent by design.
    long unsent = 0;
    for (int w = 0; interval > 0 && !stop.get() && !interrupted.get() && w < concurrency; w++) {
      long first = begin + interval * w / concurrency;
      long due = Math.min(end, deadline) > first ? (Math.min(end, deadline) - first - 1) / interval + 1 : 0;
      unsent += Math.max(0, due - sentBy.get(w));
    }
    return new Phase(Math.max(0, end - begin) / 1e9, total, okCount, outcomes, firstErrors, unsent, reconnected.sum());
  }

  private void checkUsage() {
    if (!"https".equalsIgnoreCase(url.getScheme()) || url.getHost() == null) {
      throw new ParameterException(spec.commandLine(), "--url: '" + url + "' is not an https://HOST[:PORT][/path] URL");
    }
    if (concurrency < 1 || concurrency > 10_000) {
      throw new ParameterException(spec.commandLine(), "--concurrency: must be between 1 and 10000");
    }
    if (count != null && count < 1) {
      throw new ParameterException(spec.commandLine(), "--count: must be at least 1");
    }
    if (duration != null && (duration.isZero() || duration.compareTo(MAX_DURATION) > 0)) {
      throw new ParameterException(spec.commandLine(), "--duration: must be positive and at most 1h");
    }
    if (!tlsProvider.equals("SunJSSE") && !tlsProvider.equals("BCJSSE")) {
      throw new ParameterException(spec.commandLine(), "--tls-provider: '" + tlsProvider
          + "' is neither SunJSSE nor BCJSSE");
    }
    if (!tls.equals("1.2") && !tls.equals("1.3")) {
      throw new ParameterException(spec.commandLine(), "--tls: '" + tls + "' is neither 1.2 nor 1.3");
    }
    if (groups != null) {
      try {
        groupNames = KeyExchangeGroups.standardNames(groups);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--groups: " + e.getMessage());
      }
      if (!KeyExchangeGroups.anyIn(groupNames, tls.equals("1.3"))) {
        throw new ParameterException(spec.commandLine(), "--groups: none of " + String.join(",", groupNames)
            + " can be used in TLS " + tls + " (--tls)");
      }
      if (tlsProvider.equals("SunJSSE") && !KeyExchangeGroups.perConnectionInSunJsse()) {
        throw new ParameterException(spec.commandLine(), "--groups: SunJSSE takes them per connection from Java 20 "
            + "on (this is Java " + Runtime.version().feature() + "); use --tls-provider BCJSSE, or run est-load "
            + "with -Djdk.tls.namedGroups=" + String.join(",", groupNames) + " instead");
      }
    }
    if (!keyType.equals("ec-p256") && !keyType.equals("rsa-2048")) {
      throw new ParameterException(spec.commandLine(), "--key-type: '" + keyType + "' is neither ec-p256 nor rsa-2048");
    }
    if (basic != null && basic.indexOf(':') <= 0) {
      throw new ParameterException(spec.commandLine(), "--basic: expected USER:PASSWORD");
    }
    if (op != Op.cacerts && basic == null && tokens == null) {
      throw new ParameterException(spec.commandLine(), "--op " + op + " needs --tokens FILE or --basic USER:PASSWORD");
    }
    if (rate != null && !(rate > 0 && rate <= 1_000_000)) {
      throw new ParameterException(spec.commandLine(), "--rate: must be above 0 and at most 1000000 a second");
    }
    if (resumption && !newConnection) {
      throw new ParameterException(spec.commandLine(), "--tls-resumption is for --new-connection-per-request");
    }
    if (identities != null && op != Op.simplereenroll) {
      throw new ParameterException(spec.commandLine(), "--identities: client certificates are for simplereenroll");
    }
    if (identities != null && identities < 1) {
      throw new ParameterException(spec.commandLine(), "--identities: must be at least 1");
    }
    if (resumption && identities != null && identities > concurrency) {
      // A resumed session keeps the client certificate of the connection that began it.
      throw new ParameterException(spec.commandLine(), "--tls-resumption would resume a worker's sessions as "
          + "its previous identity; use at most --concurrency identities with it");
    }
    if (warmup != null && (warmup.isZero() || warmup.compareTo(Duration.ofMinutes(10)) > 0)) {
      throw new ParameterException(spec.commandLine(), "--warmup: must be positive and at most 10m");
    }
    if (keyPool != null && (keyPool < 0 || keyPool > 100_000)) {
      throw new ParameterException(spec.commandLine(), "--key-pool: must be between 0 and 100000");
    }
    if (keyPool != null && op == Op.cacerts) {
      throw new ParameterException(spec.commandLine(), "--key-pool: cacerts sends no CSR");
    }
    if (keyPool != null && keyPool > 0 && op == Op.simplereenroll) {
      throw new ParameterException(spec.commandLine(), "--key-pool: simplereenroll makes a new key each time: a "
          + "server answers a key it certified before for the same identity with that certificate again (RFC 7030 "
          + "retries), and that, not a re-enrollment, would be measured");
    }
    if (url.getRawQuery() != null || url.getRawFragment() != null || url.getRawUserInfo() != null) {
      throw new ParameterException(spec.commandLine(), "--url: '" + url + "' has a query, fragment or user info, "
          + "which est-load would not send (credentials: --basic or --tokens)");
    }
    if (basic != null && tokens != null) {
      throw new ParameterException(spec.commandLine(), "--basic and --tokens: give one");
    }
    if (identities != null && identities > concurrency && !newConnection) {
      // On kept-alive connections each worker keeps the identity of its one connection.
      throw new ParameterException(spec.commandLine(), "--identities " + identities + " is more than --concurrency "
          + concurrency + ": on kept-alive connections each worker presents one; add --new-connection-per-request");
    }
    if (url.getPort() > 65535) {
      throw new ParameterException(spec.commandLine(), "--url: port " + url.getPort() + " is beyond 65535");
    }
    if (timeout.isZero() || timeout.isNegative() || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new ParameterException(spec.commandLine(), "--timeout: must be positive and at most 10m (a request in "
          + "flight at the end of the run is waited for that long)");
    }
    if (resumption && tlsProvider.equals("BCJSSE")) {
      throw new ParameterException(spec.commandLine(), "--tls-resumption: BCJSSE does not resume the sessions it "
          + "is offered here (none of 4 against OpenSSL); use --tls-provider SunJSSE");
    }
    if (serverName != null && !serverName.matches("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")) {
      throw new ParameterException(spec.commandLine(), "--server-name: '" + serverName + "' is not a DNS name or "
          + "IPv4 address");
    }
    checkOutput("--json", json);
    checkOutput("--hgrm", hgrm);
  }

  /** An output file's directory must be there before the run, not found missing after it. */
  private void checkOutput(String option, Path file) {
    if (file == null) {
      return;
    }
    Path directory = file.toAbsolutePath().getParent();
    if (java.nio.file.Files.isDirectory(file)) {
      throw new ParameterException(spec.commandLine(), option + ": " + file + " is a directory");
    }
    if (directory != null && !java.nio.file.Files.isDirectory(directory)) {
      throw new ParameterException(spec.commandLine(), option + ": " + directory + " is not a directory");
    }
  }

  /**
   * Worker {@code w}'s client identities: every {@code concurrency}-th from the {@code w}-th when
   * there are more identities than workers, else the one identity {@code w} falls on.
   */
  private List<ClientIdentities.Identity> share(List<ClientIdentities.Identity> clients, int w) {
    if (clients.size() <= concurrency) {
      return List.of(clients.get(w % clients.size()));
    }
    List<ClientIdentities.Identity> mine = new ArrayList<>();
    for (int i = w; i < clients.size(); i += concurrency) {
      mine.add(clients.get(i));
    }
    return mine;
  }

  private ClientIdentities.Identity enrollIdentity(URI url, Workload workload, SSLSocketFactory factory, String[] protocols,
      int timeout, SecureRandom random) throws Exception {
    java.security.KeyPair keys = KeyAlgorithm.EC_P256.generate(random);
    Workload.Request request = workload.enrollment(keys);
    if (request == null) {
      throw new IllegalArgumentException("--tokens: not enough tokens to enroll the client identities");
    }
    // A 202 (a gateway whose CA is slow or away) is asked again with the same request after its
    // Retry-After, for as long as --timeout allows in all.
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout);
    HttpsConnection.Response response;
    while (true) {
      try (HttpsConnection connection = HttpsConnection.open(url, serverName, factory, protocols, groupNames, timeout,
          sockets)) {
        response = connection.exchange(request.method(), request.path(), request.headers(), request.body());
      }
      if (response.status() != 202) {
        break;
      }
      long wait = TimeUnit.SECONDS.toNanos(retryAfterSeconds(response.headers().get("retry-after")));
      long resend = System.nanoTime() + wait;
      if (resend - deadline > 0) {
        throw new IllegalStateException("HTTP 202: still pending (Retry-After " + response.headers().get("retry-after")
            + ") when --timeout " + DurationText.format(this.timeout) + " would end");
      }
      // An interruption (Ctrl-C) ends the wait within a tenth of a second; nothing is sent after it.
      while (!interrupted.get() && resend - System.nanoTime() > 0) {
        TimeUnit.NANOSECONDS.sleep(Math.min(resend - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(100)));
      }
      if (interrupted.get()) {
        throw new IllegalStateException("interrupted while waiting to ask again for a pending (202) enrollment");
      }
    }
    String bad = response.status() == 200 ? badBody(response.body(), keys.getPublic()) : null;
    if (response.status() != 200 || bad != null) {
      String text = new String(response.body(), StandardCharsets.UTF_8).strip().lines().findFirst().orElse("");
      throw new IllegalStateException("HTTP " + response.status() + (bad != null ? ", " + bad
          : text.isEmpty() ? "" : ": " + (text.length() > 200 ? text.substring(0, 200) + "..." : text)));
    }
    // The certificate for the key, wherever the answer has it (some servers add their CAs), with
    // the intermediate CAs a TLS client sends beside it: from the answer or from /cacerts.
    List<X509Certificate> answer = CertsOnly.decode(Base64Body.decode(response.body()));
    X509Certificate certificate = answer.stream()
        .filter(c -> java.util.Arrays.equals(c.getPublicKey().getEncoded(), keys.getPublic().getEncoded()))
        .findFirst().orElseThrow();
    List<X509Certificate> cas = new ArrayList<>(answer);
    cas.addAll(caCertificates);
    // The key as the signing provider's own object: Bouncy Castle's (as generated) for BCJSSE,
    // the JDK's for SunJSSE. Each would convert the other's on every signature (for Bouncy
    // Castle about 3 times the cost of a signature with its own).
    PrivateKey key = tlsProvider.equals("BCJSSE") ? keys.getPrivate()
        : KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(keys.getPrivate().getEncoded()));
    return new ClientIdentities.Identity(X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
        key, ClientIdentities.chainOf(certificate, cas));
  }

  /**
   * The server's {@code /cacerts}, whose intermediate CAs the client identities' TLS chains carry
   * (RFC 7030 4.1.3: what a client needs to build the chain of a certificate the CA issues); none,
   * with a warning, when the server answers without them. A connection that fails stops the run,
   * as enrolling the identities would.
   */
  private List<X509Certificate> caCertificates(URI url, String basePath, SSLSocketFactory factory, String[] protocols,
      int timeout, PrintWriter err) throws IOException {
    HttpsConnection.Response response;
    try (HttpsConnection connection = HttpsConnection.open(url, serverName, factory, protocols, groupNames, timeout,
        sockets)) {
      response = connection.exchange("GET", basePath + "/cacerts", Map.of(), null);
    }
    if (response.status() == 200) {
      try {
        return CertsOnly.decode(Base64Body.decode(response.body()));
      } catch (IllegalArgumentException e) {
        err.println("est-load: /cacerts is unreadable (" + e.getMessage() + "); client certificates are sent with "
            + "only the CA certificates their enrollment answers hold");
        return List.of();
      }
    }
    err.println("est-load: /cacerts answered HTTP " + response.status() + "; client certificates are sent with only "
        + "the CA certificates their enrollment answers hold");
    return List.of();
  }

  /**
   * A 202's Retry-After in seconds (RFC 9110 10.2.3: delay-seconds or an HTTP-date), from 1 to
   * 86,400; 1 if absent or unreadable.
   */
  static long retryAfterSeconds(String value) {
    return retryAfterSeconds(value, java.time.Instant.now());
  }

  static long retryAfterSeconds(String value, java.time.Instant now) {
    if (value == null) {
      return 1;
    }
    long seconds;
    try {
      seconds = Long.parseLong(value.trim());
    } catch (NumberFormatException notSeconds) {
      try {
        java.time.Instant at = java.time.ZonedDateTime.parse(value.trim(),
            java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        seconds = (Duration.between(now, at).toMillis() + 999) / 1000;
      } catch (java.time.format.DateTimeParseException notADate) {
        return 1;
      }
    }
    return Math.min(86_400, Math.max(1, seconds));
  }

  /**
   * What is wrong with a 200's body, or null if nothing: it must be a base64 certs-only CMS with
   * at least one certificate (RFC 7030 sections 4.1.3, 4.2.3), and an enrollment's must hold a
   * certificate for the CSR's key ({@code key}; null for cacerts).
   */
  String badBody(byte[] body, java.security.PublicKey key) {
    // A server sends the same /cacerts every time: checked once, then compared (est-load's CPU
    // is taken from the server under test when both share a machine).
    if (key == null && java.util.Arrays.equals(body, checkedCaCerts)) {
      return null;
    }
    List<X509Certificate> certificates;
    try {
      certificates = CertsOnly.decode(Base64Body.decode(body));
    } catch (RuntimeException e) {
      String start = new String(body, 0, Math.min(body.length, 40), StandardCharsets.ISO_8859_1)
          .replaceAll("[^\\x20-\\x7e]", "?");
      return "not a base64 certs-only CMS (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
          + "); " + body.length + " bytes, starting '" + start + "'";
    }
    if (certificates.isEmpty()) {
      return "a certs-only CMS without a certificate";
    }
    if (key != null && certificates.stream().noneMatch(c -> java.util.Arrays.equals(c.getPublicKey().getEncoded(),
        key.getEncoded()))) {
      return "no certificate for the CSR's key among the " + certificates.size() + " in the answer";
    }
    if (key == null) {
      checkedCaCerts = body;
    }
    return null;
  }

  /**
   * What is wrong with a 200 to serverkeygen, or null if nothing: a multipart/mixed of a PKCS#8
   * private key and a certs-only CMS whose certificate is for that key (RFC 7030 section 4.4.2).
   */
  static String badGeneratedKey(String contentType, byte[] body) {
    ServerGeneratedKey answer;
    try {
      answer = ServerGeneratedKey.decode(contentType, body);
    } catch (RuntimeException e) {
      return "not a serverkeygen answer (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
          + ")";
    }
    PublicKey certified = answer.certificate().getPublicKey();
    try {
      PrivateKey key = KeyFactory.getInstance(certified.getAlgorithm(), BouncyCastle.PROVIDER)
          .generatePrivate(new PKCS8EncodedKeySpec(answer.privateKeyInfo()));
      return KeyPairs.matches(certified, key) ? null : "the private key is not the certificate's";
    } catch (GeneralSecurityException | RuntimeException e) {
      return "the private key does not decode as a " + certified.getAlgorithm() + " PKCS#8 key: " + e.getMessage();
    }
  }

  /** The last /cacerts body found good by {@link #badBody}. */
  private volatile byte[] checkedCaCerts;
  /** The server's /cacerts, read before the client identities are enrolled; empty for other runs. */
  private List<X509Certificate> caCertificates = List.of();

  private TrustManager[] trustManagers(List<X509Certificate> roots) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    for (int i = 0; i < roots.size(); i++) {
      store.setCertificateEntry("root-" + i, roots.get(i));
    }
    // BCJSSE's own trust manager for BCJSSE: with the JDK's, est-load on BCJSSE did 77 cacerts
    // handshakes a second on one core against 115-121 on SunJSSE; with BCJSSE's, 131-162.
    TrustManagerFactory factory = tlsProvider.equals("BCJSSE")
        ? TrustManagerFactory.getInstance("PKIX", BouncyCastle.JSSE) : TrustManagerFactory.getInstance("PKIX");
    factory.init(store);
    TrustManager[] managers = factory.getTrustManagers();
    if (!validateEveryHandshake) {
      for (int i = 0; i < managers.length; i++) {
        if (managers[i] instanceof X509ExtendedTrustManager extended) {
          managers[i] = new RememberedServerChains(extended, Clock.systemUTC());
        }
      }
    }
    return managers;
  }

  private SSLContext context(KeyManager[] keyManagers, TrustManager[] trustManagers, SecureRandom random) {
    try {
      SSLContext context = tlsProvider.equals("BCJSSE")
          ? SSLContext.getInstance("TLS", BouncyCastle.JSSE)
          : SSLContext.getInstance("TLS");
      context.init(keyManagers, trustManagers, random);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("TLS is part of every Java platform", e);
    }
  }

  /** The EST base path of a URL: its path, or {@code /.well-known/est} when it has none. */
  static String basePath(URI url) {
    String path = url.getRawPath();
    if (path == null || path.isEmpty() || path.equals("/")) {
      return "/.well-known/est";
    }
    return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  private static long errors(Map<String, LongAdder> outcomes) {
    long errors = 0;
    for (Map.Entry<String, LongAdder> entry : outcomes.entrySet()) {
      if (!entry.getKey().equals("200")) {
        errors += entry.getValue().sum();
      }
    }
    return errors;
  }

  static String summary(LoadResult result) {
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT, "est-load: %s %s%s, concurrency %d%s, %s, %s %s%s, %s%n", result.op(),
        result.url(), result.serverName() == null ? "" : " as " + result.serverName(), result.concurrency(),
        result.offeredRate() == null ? "" : String.format(Locale.ROOT, ", open loop at %.1f/s", result.offeredRate()),
        result.newConnectionPerRequest()
            ? "new connection per request" + (result.tlsResumption() ? " (TLS resumption)" : " (full handshakes)")
            : "kept-alive connections",
        result.tls(), result.tlsProvider(),
        result.groups() == null ? "" : " (groups " + String.join(",", result.groups()) + ")", result.keyType()));
    text.append(String.format(Locale.ROOT, "  %.1f s%s, %d requests, %d ok: %.1f/s; outcomes %s%n", result.seconds(),
        result.interrupted() ? " (interrupted; requests in flight then not counted)" : "", result.requests(),
        result.ok(), result.throughput(), result.outcomes()));
    if (result.reconnected() > 0) {
      text.append(String.format(Locale.ROOT, "  %d request%s sent again on a new connection: the server had closed "
          + "the kept-alive one while it was idle%n", result.reconnected(), result.reconnected() == 1 ? "" : "s"));
    }
    if (result.unsent() != null && result.unsent() > 0) {
      text.append(String.format(Locale.ROOT, "  %d scheduled request%s not sent: every worker was waiting for an "
          + "answer (the rate needs more --concurrency at this latency)%n", result.unsent(),
          result.unsent() == 1 ? "" : "s"));
    }
    LoadResult.Latency latency = result.latencyMs();
    if (latency == null) {
      text.append("  latency: none, no request succeeded (Java ").append(result.javaRuntime()).append(')');
    } else {
      text.append(String.format(Locale.ROOT,
          "  latency ms (ok): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f (Java %s)", latency.p50(),
          latency.p90(), latency.p99(), latency.p999(), latency.max(), latency.mean(), result.javaRuntime()));
    }
    return text.toString();
  }

  private static double ms(long micros) {
    return round(micros / 1000.0);
  }

  private static double round(double value) {
    return Math.round(value * 100.0) / 100.0;
  }
}
