package org.estfleet.server.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.client.CaCertsOutcome;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.EnrollOutcome;
import org.estfleet.est.client.EstClient;
import org.estfleet.io.AtomicFile;
import org.estfleet.io.IoMessages;
import org.estfleet.io.ProcessLock;
import org.estfleet.json.Json;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.server.ServerRuntime;
import org.estfleet.server.ca.CaGenerator;
import org.estfleet.server.ca.CaMaterial;
import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.LocalCa;
import org.estfleet.server.ca.Requester;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.GatewayConfig;
import org.estfleet.server.config.ProfileConfig;
import org.estfleet.server.config.SanPattern;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.config.TlsPairFiles;
import org.estfleet.server.store.Database;
import org.estfleet.server.gateway.GatewayIdentity;
import org.estfleet.server.gateway.UpstreamMirror;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.UpstreamCache;
import org.estfleet.tls.TlsProvider;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-server init}: a new data directory with every setting written out, a development
 * CA (root and issuing, EC P-256), a TLS server certificate from that CA, and the database.
 * With {@code --gateway}: no CA; instead the gateway's certificate, enrolled from the upstream
 * with a gateway token, and copies of the upstream's {@code /cacerts} and {@code /csrattrs}.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
    description = {"Create a data directory: server.json, a development CA, a TLS server certificate, the database.",
        "With --gateway: a gateway to --upstream, enrolled there with a gateway token (est-server token --gateway)."})
final class InitCommand implements Callable<Integer> {
  /** A DNS name or an IP literal (IPv4 dotted, or IPv6 with colons). */
  private static final Pattern IP_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
  private static final Duration TLS_LIFETIME = Duration.ofDays(2 * 365);
  /** What init creates; {@code --force} removes only these. */
  private static final List<String> CREATED = List.of(DataDir.CONFIG_FILE, "ca", "tls", "upstream", "estfleet.db",
      "estfleet.db-wal", "estfleet.db-shm");
  private static final Duration UPSTREAM_TIMEOUT = Duration.ofSeconds(30);
  /** Where init --force keeps what it replaces until the new data directory is written. */
  static final String PREVIOUS = ".init-previous";

  @Spec
  CommandSpec spec;

  /** The data directory's serve lock while this init replaces its contents; null if not taken. */
  private ProcessLock held;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The data directory to create.")
  Path data;

  @Option(names = "--hostname", paramLabel = "NAME",
      description = "A name or IP address for the TLS server certificate; repeat for more (default: localhost and 127.0.0.1).")
  List<String> hostnames = new ArrayList<>();

  @Option(names = "--force", description = "Replace server.json (settings back to their defaults), the CA, TLS identity and database of an existing data directory.")
  boolean force;

  @Option(names = "--lifetime", paramLabel = "DURATION",
      description = "Lifetime of device certificates, e.g. 30d (the default) or 90s for a demonstration.")
  Duration lifetime;

  @Option(names = "--gateway", description = "Make a gateway (registration authority) in front of --upstream instead of a CA.")
  boolean gateway;

  @Option(names = "--upstream", paramLabel = "URL", description = "Gateway: the upstream EST server, https://host:port.")
  String upstream;

  @Option(names = "--upstream-trust", paramLabel = "CAFILE",
      description = "Gateway: PEM trust anchors of the upstream's TLS certificate (its root CA).")
  Path upstreamTrust;

  @Option(names = "--token", paramLabel = "ID:TOKEN",
      description = "Gateway: the gateway's id and its one-time token from: est-server token --gateway --device ID (on the CA).")
  String token;

  @Option(names = "--reenroll", description = "Gateway: enroll an existing gateway again with a new gateway token "
      + "(its certificate expired or was lost), replacing only its TLS key and certificate: its settings, queue and "
      + "answers are kept. Stop the gateway first.")
  boolean reenroll;

  @Override
  public Integer call() throws Exception {
    try {
      return initialize();
    } finally {
      if (held != null) {
        held.close();
      }
    }
  }

  private int initialize() throws Exception {
    if (reenroll) {
      return reenrollGateway();
    }
    List<String> names = hostnames.isEmpty() ? List.of("localhost", "127.0.0.1") : hostNames();
    if (gateway) {
      return initGateway(names);
    }
    if (upstream != null || upstreamTrust != null || token != null) {
      throw new ParameterException(spec.commandLine(), "--upstream, --upstream-trust and --token are for --gateway");
    }
    ServerConfig config = ServerConfig.defaults();
    if (lifetime != null) {
      try {
        config = config.withDefaultProfile(config.defaultProfile().withLifetime(lifetime));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--lifetime: " + e.getMessage());
      }
    }
    Replacement replacement = prepareDirectory();
    try {
      return initCa(config, names);
    } catch (Exception | Error e) {
      replacement.undo(e);
      throw e;
    } finally {
      replacement.end();
    }
  }

  private int initCa(ServerConfig config, List<String> names) throws Exception {
    Clock clock = Clock.systemUTC();
    SecureRandom random = new SecureRandom();
    DataDir dataDir = DataDir.of(data, config);

    CaGenerator.GeneratedCa ca = new CaGenerator(clock, random).generate("EST Fleet Development");
    writePublic(dataDir.resolve(config.ca().rootCertificate()), Pem.encode(ca.root()));
    writePrivate(dataDir.resolve(config.ca().rootKey()), Pem.encodePrivateKey(ca.rootKeys().getPrivate()));
    writePublic(dataDir.resolve(config.ca().issuingCertificate()), Pem.encode(ca.issuing()));
    writePrivate(dataDir.resolve(config.ca().issuingKey()), Pem.encodePrivateKey(ca.issuingKeys().getPrivate()));

    X509Certificate tls;
    try (Database database = Database.open(dataDir.resolve(config.database().file()))) {
      CaMaterial material = new CaMaterial(ca.root(), ca.issuing(), ca.issuingKeys().getPrivate());
      KeyPair tlsKeys = KeyAlgorithm.EC_P256.generate(random);
      String commonName = tlsCommonName(names);
      Csr request = new CsrBuilder().commonName(commonName).subjectAltNames(generalNames(names)).sign(tlsKeys);
      CertificateProfile tlsProfile = new CertificateProfile(TLS_LIFETIME, Duration.ofMinutes(5),
          KeyUsage.digitalSignature, List.of(KeyPurposeId.id_kp_serverAuth), null);
      LocalCa localCa = new LocalCa(material, java.util.Map.of(), tlsProfile, new IssuedCertificates(database), clock,
          random);
      tls = localCa.issue(new IssueRequest("", request,
          new Requester(commonName, "local", "est-server init (TLS server)", null, null, null, Role.SERVER), false,
          null), tlsProfile).certificate();
      writePublic(dataDir.resolve(config.tls().certificate()), Pem.encode(List.of(tls, ca.issuing())));
      writePrivate(dataDir.resolve(config.tls().key()), Pem.encodePrivateKey(tlsKeys.getPrivate()));
    }
    writePublic(data.resolve(DataDir.CONFIG_FILE), Json.write(config));

    PrintWriter out = spec.commandLine().getOut();
    out.println("initialized " + data);
    out.println("  root CA:     " + ca.root().getSubjectX500Principal().getName()
        + " (sha256 " + Certificates.fingerprint(ca.root()) + ")");
    out.println("  trust file:  " + dataDir.resolve(config.ca().rootCertificate()));
    out.println("  TLS server:  " + String.join(", ", names) + ", valid until " + tls.getNotAfter().toInstant());
    out.println("  next:        est-server serve --data " + data);
    return EstServerCommand.EXIT_OK;
  }

  /**
   * A gateway: its key and CSR (CN = its id, subjectAltNames = the host names devices use),
   * enrolled at the upstream with the gateway token over TLS authenticated by
   * {@code --upstream-trust}. The upstream's gateway profile makes the certificate both a TLS
   * server certificate and an RA certificate (EKU id-kp-cmcRA).
   */
  private int initGateway(List<String> names) throws Exception {
    if (upstream == null || upstreamTrust == null || token == null) {
      throw new ParameterException(spec.commandLine(), "--gateway needs --upstream URL, --upstream-trust CAFILE "
          + "and --token ID:TOKEN (from est-server token --gateway --device ID on the CA)");
    }
    if (lifetime != null) {
      throw new ParameterException(spec.commandLine(), "--lifetime is the CA's setting; a gateway has none");
    }
    checkToken();
    GatewayConfig gatewaySettings;
    try {
      gatewaySettings = GatewayConfig.of(upstream);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--upstream: " + e.getMessage());
    }
    List<X509Certificate> trust;
    try {
      trust = Pem.readCertificates(upstreamTrust);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("--upstream-trust: " + e.getMessage(), e);
    }
    ServerConfig config = ServerConfig.gatewayDefaults(gatewaySettings);
    // Before the token goes to the upstream: a refusal after it would leave the token used. The
    // directory is made now too, so that one that cannot be is found before.
    checkDirectory();
    boolean created = !Files.isDirectory(data);
    if (created) {
      Files.createDirectories(data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Clock clock = Clock.systemUTC();
    Enrolled enrolled;
    try {
      SecureRandom random = new SecureRandom();
      enrolled = enroll(gatewaySettings.upstreamUri(), trust, token, generalNames(names),
          KeyAlgorithm.EC_P256.generate(random), config.tls().provider(), clock, random);
    } catch (Exception e) {
      if (created) {
        // Nothing is written before the enrollment: the directory made for it goes (only if still empty).
        try {
          Files.deleteIfExists(data);
        } catch (IOException notEmpty) {
          // something else wrote there meanwhile: left as it is
        }
      }
      throw e;
    }
    Replacement replacement = prepareDirectory();
    try {
      return writeGateway(config, gatewaySettings, trust, enrolled, names, clock);
    } catch (Exception | Error e) {
      replacement.undo(e);
      spec.commandLine().getErr().println("est-server: the upstream enrolled gateway " + enrolled.gatewayId()
          + " (certificate serial " + Certificates.serialHex(enrolled.certificate()) + "), which could not be written "
          + "here: its token is used; make a new one on the CA (est-server token --gateway --device "
          + enrolled.gatewayId() + ")");
      if (created) {
        try {
          Files.deleteIfExists(data.resolve(ServerRuntime.SERVE_LOCK));
          Files.deleteIfExists(data);
        } catch (IOException notEmpty) {
          // something else wrote there meanwhile: left as it is
        }
      }
      throw e;
    } finally {
      replacement.end();
    }
  }

  private int writeGateway(ServerConfig config, GatewayConfig gatewaySettings, List<X509Certificate> trust,
      Enrolled enrolled, List<String> names, Clock clock) throws Exception {
    X509Certificate certificate = enrolled.certificate();
    List<X509Certificate> caCertificates = enrolled.caCertificates();
    KeyPair keys = enrolled.keys();
    String gatewayId = enrolled.gatewayId();
    DataDir dataDir = DataDir.of(data, config);
    writePublic(dataDir.resolve(gatewaySettings.upstreamTrust()), Pem.encode(trust));
    writePublic(dataDir.resolve(config.tls().certificate()), Pem.encode(GatewayIdentity.chainOf(certificate, caCertificates)));
    writePrivate(dataDir.resolve(config.tls().key()), Pem.encodePrivateKey(keys.getPrivate()));
    try (Database database = Database.open(dataDir.resolve(config.database().file()))) {
      storeUpstreamCopies(database, enrolled, clock.instant());
    }
    writePublic(data.resolve(DataDir.CONFIG_FILE), Json.write(config));

    PrintWriter out = spec.commandLine().getOut();
    out.println("initialized gateway " + data);
    out.println("  upstream:    " + upstream);
    out.println("  gateway id:  " + gatewayId + " (certificate serial " + Certificates.serialHex(certificate)
        + ", valid until " + certificate.getNotAfter().toInstant() + ")");
    out.println("  TLS server:  " + String.join(", ", names));
    out.println("  next:        est-server serve --data " + data);
    return EstServerCommand.EXIT_OK;
  }

  /**
   * Enrolls an existing gateway again with a new gateway token (its certificate expired, or its
   * key was lost): a new key and certificate for the same host names, written as its own renewal
   * writes them. Its settings, queue, answers and upstream trust stay; the upstream is
   * {@code gateway.upstream}.
   */
  private int reenrollGateway() throws Exception {
    if (!gateway || token == null) {
      throw new ParameterException(spec.commandLine(), "--reenroll needs --gateway and --token ID:TOKEN (a new one "
          + "from est-server token --gateway --device ID on the CA)");
    }
    if (upstream != null || force || lifetime != null) {
      throw new ParameterException(spec.commandLine(), "--reenroll keeps the gateway's settings: --upstream, --force "
          + "and --lifetime do not apply (the upstream is server.json's gateway.upstream)");
    }
    checkToken();
    DataDir dataDir = DataDir.open(data);
    checkNotServed();
    ServerConfig config = dataDir.config();
    if (config.mode() != ServerConfig.Mode.GATEWAY) {
      throw new ConfigException(data + " is not a gateway's data directory; --reenroll is for gateways");
    }
    GatewayConfig settings = config.gateway();
    Path trustFile = upstreamTrust != null ? upstreamTrust : dataDir.resolve(settings.upstreamTrust());
    List<X509Certificate> trust;
    try {
      trust = Pem.readCertificates(trustFile);
    } catch (IllegalArgumentException e) {
      throw new ConfigException((upstreamTrust != null ? "--upstream-trust: " : "") + e.getMessage(), e);
    }
    Path certificateFile = dataDir.resolve(config.tls().certificate());
    Path keyFile = dataDir.resolve(config.tls().key());
    List<GeneralName> names;
    if (!hostnames.isEmpty()) {
      names = generalNames(hostNames());
    } else {
      try {
        names = Certificates.subjectAltNames(Pem.readCertificates(certificateFile).get(0));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage() + "; give the names devices use with --hostname", e);
      }
    }
    Path databaseFile = dataDir.resolve(config.database().file());
    Database.openExisting(databaseFile).close(); // its queue is what --reenroll keeps: it must be there

    Clock clock = Clock.systemUTC();
    SecureRandom random = new SecureRandom();
    KeyPair keys = KeyAlgorithm.EC_P256.generate(random);
    // What serve would refuse is refused before the token is spent on it.
    ServerRuntime.checkTls(dataDir, keys.getPublic(), random);
    Enrolled enrolled = enroll(settings.upstreamUri(), trust, token, names, keys, config.tls().provider(), clock,
        random);
    TlsPairFiles.write(certificateFile, keyFile, GatewayIdentity.chainOf(enrolled.certificate(),
        enrolled.caCertificates()), enrolled.keys().getPrivate());
    if (upstreamTrust != null) {
      writePublic(dataDir.resolve(settings.upstreamTrust()), Pem.encode(trust));
    }
    try (Database database = Database.openExisting(databaseFile)) {
      storeUpstreamCopies(database, enrolled, clock.instant());
    }

    PrintWriter out = spec.commandLine().getOut();
    out.println("enrolled gateway " + data + " again");
    out.println("  upstream:    " + settings.upstream());
    out.println("  gateway id:  " + enrolled.gatewayId() + " (certificate serial "
        + Certificates.serialHex(enrolled.certificate()) + ", valid until "
        + enrolled.certificate().getNotAfter().toInstant() + ")");
    out.println("  kept:        server.json, the queue and answers in " + databaseFile.getFileName());
    out.println("  next:        est-server serve --data " + data);
    return EstServerCommand.EXIT_OK;
  }

  /**
   * The TLS certificate's CN: the first name that fits RFC 5280's 64 characters, else
   * {@code est-server}. Clients check the subjectAltName, which carries every name.
   */
  private static String tlsCommonName(List<String> names) {
    return names.stream().filter(name -> name.length() <= 64).findFirst().orElse("est-server");
  }

  /**
   * The {@code --hostname}s, each a DNS name in the preferred name syntax (labels of 1-63
   * letters, digits and hyphens, RFC 1034 section 3.5) or an IP address; a name given again (in
   * another case, an address written otherwise: 127.000.0.1) once.
   */
  private List<String> hostNames() {
    List<String> names = new ArrayList<>();
    java.util.Set<Object> seen = new java.util.HashSet<>();
    for (String name : hostnames) {
      Object key;
      if (IP_LITERAL.matcher(name).matches()) {
        try {
          key = new GeneralName(GeneralName.iPAddress, name);
        } catch (IllegalArgumentException e) {
          throw new ParameterException(spec.commandLine(), "--hostname: " + EstServerCommand.quoted(name)
              + " is not an IP address");
        }
      } else if (SanPattern.wellFormed(ProfileConfig.SanType.DNS, name)) {
        key = name.toLowerCase(java.util.Locale.ROOT);
      } else {
        throw new ParameterException(spec.commandLine(), "--hostname: " + EstServerCommand.quoted(name)
            + " is not a host name (letters, digits and hyphens in dot-separated labels of 1-63) or IP address");
      }
      if (seen.add(key)) {
        names.add(name);
      }
    }
    return names;
  }

  private static List<GeneralName> generalNames(List<String> names) {
    List<GeneralName> general = new ArrayList<>();
    for (String name : names) {
      general.add(IP_LITERAL.matcher(name).matches()
          ? new GeneralName(GeneralName.iPAddress, name)
          : new GeneralName(GeneralName.dNSName, name));
    }
    return general;
  }

  /**
   * Keeps the upstream's {@code /cacerts} and {@code /csrattrs} fetched at enrollment: a gateway
   * first started while its upstream is away serves both.
   */
  private static void storeUpstreamCopies(Database database, Enrolled enrolled, Instant fetchedAt) {
    UpstreamCache cache = new UpstreamCache(database);
    UpstreamMirror.storeCaCertificates(cache, "", enrolled.caCertificates(), fetchedAt);
    enrolled.csrAttributes().ifPresent(fetched -> UpstreamMirror.storeCsrAttributes(cache, "", fetched, fetchedAt));
  }

  /**
   * The gateway's new certificate and key, and the upstream's CA certificates and CSR attributes
   * (empty if they could not be fetched: the gateway's first refresh fetches them).
   */
  private record Enrolled(String gatewayId, X509Certificate certificate, KeyPair keys,
      List<X509Certificate> caCertificates, Optional<CsrAttrsOutcome.Fetched> csrAttributes) {}

  private void checkToken() {
    int colon = token.indexOf(':');
    if (colon <= 0 || colon == token.length() - 1) {
      throw new ParameterException(spec.commandLine(), "--token: expected ID:TOKEN, e.g. gateway-1:Xy3...");
    }
  }

  /**
   * Enrolls the gateway at the upstream with its token over TLS authenticated by {@code trust}: a
   * CSR of the new {@code keys} for the gateway usages with {@code names} as its subjectAltNames.
   * The connections use {@code provider}, the gateway's {@code tls.provider}, as its forwards
   * will: the token gets the same key exchange as the devices' tokens it later forwards.
   */
  private Enrolled enroll(URI upstreamUri, List<X509Certificate> trust, String token, List<GeneralName> names,
      KeyPair keys, TlsProvider provider, Clock clock, SecureRandom random)
      throws UpstreamException, java.security.cert.CertificateParsingException {
    int colon = token.indexOf(':');
    String gatewayId = token.substring(0, colon);
    EstClient client = new EstClient(UPSTREAM_TIMEOUT, UPSTREAM_TIMEOUT, clock, random, provider.jsse());
    CaCertsOutcome caCerts = client.caCertificates(upstreamUri, "", trust);
    if (caCerts instanceof CaCertsOutcome.Failed failed) {
      throw new UpstreamException("cannot get /cacerts from " + upstreamUri + ": " + failed.failure().describe());
    }
    List<X509Certificate> caCertificates = ((CaCertsOutcome.Fetched) caCerts).certificates();
    // The gateway usages are requested, not only checked for afterwards: a CA whose profile for
    // the token does not issue them (a device token) refuses the CSR, and a refused request
    // leaves the token unused.
    CsrBuilder csr = new CsrBuilder().commonName(gatewayId)
        .extendedKeyUsages(List.of(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_cmcRA));
    csr.subjectAltNames(names);
    EnrollOutcome outcome = client.enroll(upstreamUri, "", false, csr.sign(keys),
        new ClientAuth.Token(gatewayId, token.substring(colon + 1)), trust);
    X509Certificate certificate;
    if (outcome instanceof EnrollOutcome.Issued issued) {
      certificate = issued.certificate();
    } else if (outcome instanceof EnrollOutcome.Failed failed) {
      if (failed.failure().status() == 403 && failed.failure().message().contains("extended key usage")) {
        throw new UpstreamException("the upstream refused to issue the gateway usages (serverAuth, clientAuth, "
            + "id-kp-cmcRA) for " + gatewayId + "'s token, which was not used: it is not a gateway token (create one "
            + "with: est-server token --gateway --device " + gatewayId + "), or the CA's gatewayProfile lacks them ("
            + failed.failure().describe() + ")");
      }
      throw new UpstreamException("the upstream did not enroll gateway '" + gatewayId + "': "
          + failed.failure().describe());
    } else {
      throw new UpstreamException("the upstream deferred the gateway's enrollment; run init again later");
    }
    List<String> usages = certificate.getExtendedKeyUsage();
    if (usages == null || !usages.contains(KeyPurposeId.id_kp_cmcRA.getId())
        || !usages.contains(KeyPurposeId.id_kp_serverAuth.getId())) {
      throw new UpstreamException("the upstream issued " + Certificates.describe(certificate)
          + " without the gateway usages (id-kp-cmcRA, serverAuth): the token was not a gateway token; "
          + "create one with: est-server token --gateway --device " + gatewayId);
    }

    CsrAttrsOutcome csrAttrs = client.csrAttributes(upstreamUri, "", trust);
    return new Enrolled(gatewayId, certificate, keys, caCertificates,
        csrAttrs instanceof CsrAttrsOutcome.Fetched fetched ? Optional.of(fetched) : Optional.empty());
  }

  /** The upstream could not be reached, or would not enroll the gateway: exit 1. */
  static final class UpstreamException extends Exception {
    private static final long serialVersionUID = 1L;

    UpstreamException(String message) {
      super(message);
    }
  }

  /**
   * Refuses a data directory init may not write: a file, a directory with something in it unless
   * --force, or one a running server holds.
   */
  private void checkDirectory() throws IOException, ConfigException {
    if (Files.exists(data) && !Files.isDirectory(data)) {
      throw new ConfigException(data + " exists and is not a directory");
    }
    Path previous = data.resolve(PREVIOUS);
    if (Files.exists(previous, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      // Before anything is sent or written: a gateway's token is not spent on a run refused here.
      throw new ConfigException(previous + " holds what an interrupted init --force was replacing: move its entries "
          + "back into " + data + " (or delete it if they are not wanted), then run init again");
    }
    if (Files.isDirectory(data) && !force) {
      try (Stream<Path> entries = Files.list(data)) {
        // A serve lock left by a server that ran here is not content (ls does not show it).
        if (entries.anyMatch(entry -> !entry.getFileName().toString().equals(ServerRuntime.SERVE_LOCK))) {
          throw new ConfigException(data + " already exists and is not empty; "
              + "use --force to replace its " + (gateway ? "gateway enrollment, upstream trust" : "CA")
              + ", TLS identity and database");
        }
      }
    }
    checkNotServed();
  }

  /**
   * Takes the data directory's serve lock for the rest of this run, so that no server starts on
   * what init is replacing; refused if a server holds it. Nothing to take for a directory not
   * there yet; a file system without locks is not checked.
   */
  private void checkNotServed() throws ConfigException {
    if (held != null || !Files.isDirectory(data)) {
      return;
    }
    Path file = ServerRuntime.serveLock(data);
    try {
      held = ProcessLock.tryHold(file).orElseThrow(() -> new ConfigException(data + " is being served by est-server"
          + ProcessLock.describeHolder(file) + ": stop it first"));
    } catch (IOException e) {
      // no locks on this file system: as before the check existed
    }
  }

  /**
   * Makes way for what init writes: the entries of an earlier init ({@code --force}) are moved
   * aside into {@link #PREVIOUS}, not deleted, until the new ones are all written.
   */
  private Replacement prepareDirectory() throws IOException, ConfigException {
    checkDirectory();
    Path previous = data.resolve(PREVIOUS);
    boolean created = !Files.isDirectory(data);
    if (created) {
      Files.createDirectories(data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Replacement replacement = new Replacement(created, new ArrayList<>());
    try {
      for (String entry : CREATED) {
        if (Files.exists(data.resolve(entry), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          if (replacement.moved.isEmpty()) {
            Files.createDirectory(previous,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
          }
          // A rename in the same directory: no space needed, nothing copied.
          Files.move(data.resolve(entry), previous.resolve(entry), StandardCopyOption.ATOMIC_MOVE);
          replacement.moved.add(entry);
        }
      }
    } catch (IOException | RuntimeException e) {
      // An entry that cannot be renamed (a bind-mounted file): those moved go back.
      IOException refused = new IOException("cannot move " + data + "'s entries aside to replace them: "
          + IoMessages.reason(e instanceof IOException io ? io : new IOException(e)), e);
      replacement.putBackOnly(refused);
      throw refused;
    }
    return replacement;
  }

  /**
   * What {@link #prepareDirectory} moved aside: {@link #undo} puts it back after a failed init (a
   * full disk, an unreachable upstream), removing what the failed run wrote, so that a failed
   * init --force leaves the directory as it was and a failed first init leaves none; {@link #end}
   * then removes what is left of {@link #PREVIOUS}.
   */
  private final class Replacement {
    private final boolean createdDirectory;
    private final List<String> moved;
    private boolean undone;

    Replacement(boolean createdDirectory, List<String> moved) {
      this.createdDirectory = createdDirectory;
      this.moved = moved;
    }

    /** Removes what this run wrote, then puts back what it moved aside. */
    void undo(Throwable failure) {
      undone = true;
      try {
        // Every entry init creates that is here now was written by this run: the earlier ones
        // were all moved aside first.
        for (String entry : CREATED) {
          deleteRecursively(data.resolve(entry));
        }
        putBack();
      } catch (IOException e) {
        reportUnrestored(failure, e);
      }
    }

    /** Puts back what was moved aside, writing nothing else: a move aside that failed half way. */
    void putBackOnly(Throwable failure) {
      undone = true;
      try {
        putBack();
      } catch (IOException e) {
        reportUnrestored(failure, e);
      }
    }

    private void putBack() throws IOException {
      for (String entry : moved) {
        Files.move(data.resolve(PREVIOUS).resolve(entry), data.resolve(entry), StandardCopyOption.ATOMIC_MOVE);
      }
      Files.deleteIfExists(data.resolve(PREVIOUS));
      if (createdDirectory) {
        Files.deleteIfExists(data.resolve(ServerRuntime.SERVE_LOCK));
        Files.deleteIfExists(data);
      }
    }

    private void reportUnrestored(Throwable failure, IOException e) {
      // Said now, on its own line: the failure that is thrown says only why init failed.
      spec.commandLine().getErr().println("est-server: cannot put back what init --force moved to "
          + data.resolve(PREVIOUS) + " (" + IoMessages.reason(e) + "): move its entries back into " + data
          + " by hand");
      failure.addSuppressed(e);
    }

    void end() throws IOException {
      if (!undone) {
        deleteRecursively(data.resolve(PREVIOUS));
      }
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path entry : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(entry);
      }
    }
  }

  private static void writePublic(Path file, String text) throws IOException {
    AtomicFile.write(file, text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
  }

  private static void writePrivate(Path file, String text) throws IOException {
    AtomicFile.write(file, text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PRIVATE);
  }
}
