package org.estfleet.server;

import java.net.URI;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyPairs;
import org.estfleet.server.auth.Authenticator;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.ca.CaMaterial;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.ca.LocalCa;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ProfileConfig;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.enroll.EstService;
import org.estfleet.server.enroll.LabelPolicy;
import org.estfleet.server.http.EstServer;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.TokenRecords;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running est-server in CA mode, assembled from a data directory: the database, the CA, the
 * EST rules and the HTTPS listener. Closing it stops the listener, then closes the database.
 */
public final class ServerRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServerRuntime.class);
  private static final Duration TLS_EXPIRY_WARNING = Duration.ofDays(30);

  private final Database database;
  private final EstServer server;

  private ServerRuntime(Database database, EstServer server) {
    this.database = database;
    this.server = server;
  }

  /**
   * Starts serving the data directory's configuration.
   *
   * @throws ConfigException if the data directory's files are missing or inconsistent
   */
  public static ServerRuntime start(DataDir dataDir, Clock clock, SecureRandom random) throws Exception {
    return start(dataDir, clock, random, UnaryOperator.identity());
  }

  /**
   * Starts serving, with the CA wrapped by {@code decorator}: the seam for behaviour around
   * issuance (a CA that defers, fails or misbehaves, as the agent's tests need).
   */
  public static ServerRuntime start(DataDir dataDir, Clock clock, SecureRandom random,
      UnaryOperator<CertificateAuthority> decorator) throws Exception {
    ServerConfig config = dataDir.config();
    CaMaterial ca = CaMaterial.load(dataDir);
    List<X509Certificate> tlsChain = dataDir.readCertificates(config.tls().certificate());
    PrivateKey tlsKey = dataDir.readPrivateKey(config.tls().key());
    if (!KeyPairs.matches(tlsChain.get(0).getPublicKey(), tlsKey)) {
      throw new ConfigException(dataDir.resolve(config.tls().key()) + ": this key does not belong to the TLS certificate "
          + dataDir.resolve(config.tls().certificate()));
    }
    warnIfExpiring(tlsChain.get(0), clock.instant());
    List<X509Certificate> manufacturerCas = new ArrayList<>();
    for (Path file : config.bootstrap().manufacturerCas()) {
      manufacturerCas.addAll(dataDir.readCertificates(file));
    }

    Database database = Database.open(dataDir.resolve(config.database().file()));
    try {
      IssuedCertificates ledger = new IssuedCertificates(database);
      BootstrapTokens tokens = new BootstrapTokens(new TokenRecords(database), clock, random);
      Map<String, CertificateProfile> profiles = new HashMap<>();
      Map<String, LabelPolicy> policies = new HashMap<>();
      profiles.put("", CertificateProfile.of(config.defaultProfile()));
      policies.put("", LabelPolicy.of(config.defaultProfile()));
      for (Map.Entry<String, ProfileConfig> label : config.labels().entrySet()) {
        profiles.put(label.getKey(), CertificateProfile.of(label.getValue()));
        policies.put(label.getKey(), LabelPolicy.of(label.getValue()));
      }
      LocalCa localCa = new LocalCa(ca, profiles, ledger, clock, random);
      Authenticator authenticator = new Authenticator(List.of(ca.root()), List.of(ca.issuing()), manufacturerCas,
          ledger, tokens, config.reenroll().gracePeriod(), clock);
      EstService service = new EstService(decorator.apply(localCa), authenticator, policies);

      List<X509Certificate> acceptedIssuers = new ArrayList<>(ca.certificates());
      acceptedIssuers.addAll(manufacturerCas);
      EstServer server = EstServer.start(
          new EstServer.Settings(config.bindAddress(), config.port(), config.tls().protocols(),
              config.limits().maxRequestBytes()),
          new EstServer.Tls(tlsKey, tlsChain, acceptedIssuers),
          service, random);
      LOG.info("serving {} (CA '{}', {} label(s), {} manufacturer CA(s))", server.baseUri(),
          ca.issuing().getSubjectX500Principal().getName(), config.labels().size(), manufacturerCas.size());
      return new ServerRuntime(database, server);
    } catch (Exception | Error e) {
      database.close();
      throw e;
    }
  }

  private static void warnIfExpiring(X509Certificate tls, Instant now) {
    Instant notAfter = tls.getNotAfter().toInstant();
    if (now.plus(TLS_EXPIRY_WARNING).isAfter(notAfter)) {
      LOG.warn("the TLS server certificate {} expires {}; clients will soon refuse to connect",
          Certificates.describe(tls), notAfter);
    }
  }

  public int port() {
    return server.port();
  }

  public URI baseUri() {
    return server.baseUri();
  }

  /** Blocks until the server stops. */
  public void join() throws InterruptedException {
    server.join();
  }

  @Override
  public void close() {
    server.close();
    database.close();
  }
}
