package org.estfleet.bench.jmh;

import java.nio.ByteBuffer;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.estfleet.tls.KeyExchangeGroups;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One full TLS 1.3 handshake (no resumption), client and server engines in memory, EC P-256
 * certificates as est-server uses them, with and without a client certificate (re-enrollment is
 * mutual TLS). Both sides run in the benchmark thread: the figure is the CPU of both ends, which
 * on one machine is what a load test pays. Providers: the JDK's SunJSSE (with SunEC), and
 * BCJSSE with the Bouncy Castle provider for its crypto; the key exchange groups the client
 * offers and those the server accepts, each its provider's or those given.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TlsHandshakeBenchmark {
  private static final char[] PASSWORD = "bench".toCharArray();

  @Param({"SunJSSE", "BCJSSE"})
  public String provider;

  @Param({"false", "true"})
  public boolean clientCertificate;

  /**
   * The key exchange groups the client offers: {@code default}, its provider's (BCJSSE offers the
   * hybrid X25519MLKEM768 first, SunJSSE x25519), or a group, or groups joined by {@code +}, e.g.
   * {@code -p groups=default,x25519} (SunJSSE: Java 20 on).
   */
  @Param({"default"})
  public String groups;

  /**
   * The key exchange groups the server accepts, as est-server's {@code tls.namedGroups} sets
   * them: {@code default}, its provider's, or groups joined by {@code +}, most preferred first.
   */
  @Param({"default"})
  public String serverGroups;

  private String[] groupNames;
  private String[] serverGroupNames;

  /** The bytes of the last handshake's ClientHello: what the client offered, for the tests. */
  int clientHelloBytes;

  private SSLContext serverContext;
  private SSLContext clientContext;

  @Setup
  public void setUp() throws Exception {
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now();
    KeyPair rootKeys = KeyAlgorithm.EC_P256.generate(random);
    X509Certificate root = new CertificateBuilder().subject(new X500Name("CN=Bench Root"))
        .publicKey(rootKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(365))).ca(1).selfSign(rootKeys.getPrivate());
    KeyPair serverKeys = KeyAlgorithm.EC_P256.generate(random);
    X509Certificate server = new CertificateBuilder().subject(new X500Name("CN=localhost"))
        .publicKey(serverKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(365))).keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsages(List.of(KeyPurposeId.id_kp_serverAuth))
        .subjectAltName(new GeneralName(GeneralName.dNSName, "localhost"))
        .signWith(root, rootKeys.getPrivate());
    KeyPair clientKeys = KeyAlgorithm.EC_P256.generate(random);
    X509Certificate client = new CertificateBuilder().subject(new X500Name("CN=device-1"))
        .publicKey(clientKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(30))).keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsages(List.of(KeyPurposeId.id_kp_clientAuth)).signWith(root, rootKeys.getPrivate());
    groupNames = names(groups);
    serverGroupNames = names(serverGroups);
    Provider jsse = provider.equals("BCJSSE") ? new BouncyCastleJsseProvider(BouncyCastle.PROVIDER) : null;
    serverContext = context(jsse, serverKeys, server, root, random);
    clientContext = context(jsse, clientCertificate ? clientKeys : null, client, root, random);
  }

  private static String[] names(String groups) {
    return groups.equals("default") ? null : KeyExchangeGroups.standardNames(List.of(groups.split("\\+")));
  }

  private static SSLContext context(Provider jsse, KeyPair keys, X509Certificate certificate, X509Certificate root,
      SecureRandom random) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", root);
    TrustManagerFactory trustManagers = jsse == null ? TrustManagerFactory.getInstance("PKIX")
        : TrustManagerFactory.getInstance("PKIX", jsse);
    trustManagers.init(trust);
    KeyManagerFactory keyManagers = null;
    if (keys != null) {
      // As est-server holds its key: for BCJSSE Bouncy Castle's own key object, from its own key store.
      KeyStore store = jsse == null ? KeyStore.getInstance("PKCS12")
          : KeyStore.getInstance("PKCS12", BouncyCastle.PROVIDER);
      store.load(null, null);
      store.setKeyEntry("key", jsse == null ? keys.getPrivate() : BouncyCastle.ownKey(keys.getPrivate()), PASSWORD,
          new X509Certificate[] {certificate});
      keyManagers = jsse == null ? KeyManagerFactory.getInstance("PKIX") : KeyManagerFactory.getInstance("PKIX", jsse);
      keyManagers.init(store, PASSWORD);
    }
    SSLContext context = jsse == null ? SSLContext.getInstance("TLSv1.3") : SSLContext.getInstance("TLSv1.3", jsse);
    context.init(keyManagers == null ? null : keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), random);
    return context;
  }

  @Benchmark
  public Object handshake() throws SSLException {
    // Engines without a peer host and port: no session is looked up or cached, every handshake is full.
    SSLEngine client = clientContext.createSSLEngine();
    client.setUseClientMode(true);
    client.setEnabledProtocols(new String[] {"TLSv1.3"});
    if (groupNames != null) {
      KeyExchangeGroups.offer(client, groupNames);
    }
    SSLEngine server = serverContext.createSSLEngine();
    server.setUseClientMode(false);
    server.setEnabledProtocols(new String[] {"TLSv1.3"});
    if (clientCertificate) {
      server.setNeedClientAuth(true);
    }
    if (serverGroupNames != null) {
      KeyExchangeGroups.accept(server, serverGroupNames);
    }
    int packet = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize());
    ByteBuffer toServer = ByteBuffer.allocate(packet * 4);
    ByteBuffer toClient = ByteBuffer.allocate(packet * 4);
    ByteBuffer clientApp = ByteBuffer.allocate(packet * 2);
    ByteBuffer serverApp = ByteBuffer.allocate(packet * 2);
    client.beginHandshake();
    server.beginHandshake();
    for (int round = 0; round < 200; round++) {
      boolean clientMoved = step(client, toServer, toClient, clientApp);
      if (round == 0) {
        clientHelloBytes = toServer.position();
      }
      boolean serverMoved = step(server, toClient, toServer, serverApp);
      if (!clientMoved && !serverMoved && done(client) && done(server)) {
        return client.getSession();
      }
    }
    throw new IllegalStateException("handshake did not complete: client " + client.getHandshakeStatus() + ", server "
        + server.getHandshakeStatus());
  }

  private static boolean done(SSLEngine engine) {
    SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
    return status == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
        || status == SSLEngineResult.HandshakeStatus.FINISHED;
  }

  /** One move of an engine: wrap into {@code out}, unwrap from {@code in}, or run its tasks. */
  private static boolean step(SSLEngine engine, ByteBuffer out, ByteBuffer in, ByteBuffer app) throws SSLException {
    switch (engine.getHandshakeStatus()) {
      case NEED_WRAP -> {
        SSLEngineResult result = engine.wrap(ByteBuffer.allocate(0), out);
        return result.bytesProduced() > 0 || result.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NEED_WRAP;
      }
      case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
        in.flip();
        SSLEngineResult result = engine.unwrap(in, app);
        in.compact();
        app.clear();
        return result.bytesConsumed() > 0 || result.getStatus() == SSLEngineResult.Status.OK
            && result.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NEED_UNWRAP;
      }
      case NEED_TASK -> {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
          task.run();
        }
        return true;
      }
      default -> {
        // Post-handshake messages (TLS 1.3 session tickets) may still be waiting to be read.
        if (in.position() > 0) {
          in.flip();
          SSLEngineResult result = engine.unwrap(in, app);
          in.compact();
          app.clear();
          return result.bytesConsumed() > 0;
        }
        return false;
      }
    }
  }
}
