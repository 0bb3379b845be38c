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
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.KeyAlgorithm;

/**
 * TLS client and server engines in memory for the TLS benchmarks: EC P-256 certificates as
 * est-server uses them (a root, a server certificate, a device certificate), contexts on either
 * JSSE provider, and a handshake driven in the calling thread.
 */
final class TlsEngines {
  private static final char[] PASSWORD = "bench".toCharArray();

  final X509Certificate root;
  final KeyPair serverKeys;
  final X509Certificate server;
  final KeyPair clientKeys;
  final X509Certificate client;

  /** A new root, server certificate and device certificate. */
  TlsEngines(SecureRandom random) throws Exception {
    Instant now = Instant.now();
    KeyPair rootKeys = KeyAlgorithm.EC_P256.generate(random);
    root = new CertificateBuilder().subject(new X500Name("CN=Bench Root"))
        .publicKey(rootKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(365))).ca(1).selfSign(rootKeys.getPrivate());
    serverKeys = KeyAlgorithm.EC_P256.generate(random);
    server = new CertificateBuilder().subject(new X500Name("CN=localhost"))
        .publicKey(serverKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(365))).keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsages(List.of(KeyPurposeId.id_kp_serverAuth))
        .subjectAltName(new GeneralName(GeneralName.dNSName, "localhost"))
        .signWith(root, rootKeys.getPrivate());
    clientKeys = KeyAlgorithm.EC_P256.generate(random);
    client = new CertificateBuilder().subject(new X500Name("CN=device-1"))
        .publicKey(clientKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(30))).keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsages(List.of(KeyPurposeId.id_kp_clientAuth)).signWith(root, rootKeys.getPrivate());
  }

  /** {@code SunJSSE}: null, the JDK's; {@code BCJSSE}: Bouncy Castle's, on its own crypto provider. */
  static Provider jsse(String provider) {
    return switch (provider) {
      case "SunJSSE" -> null;
      case "BCJSSE" -> new BouncyCastleJsseProvider(BouncyCastle.PROVIDER);
      default -> throw new IllegalArgumentException("provider: SunJSSE or BCJSSE, not " + provider);
    };
  }

  /** The server's TLS 1.3 context. */
  SSLContext serverContext(Provider jsse, SecureRandom random) throws Exception {
    return context(jsse, serverKeys, server, random);
  }

  /** The client's TLS 1.3 context, with the device certificate or without one. */
  SSLContext clientContext(Provider jsse, boolean clientCertificate, SecureRandom random) throws Exception {
    return context(jsse, clientCertificate ? clientKeys : null, client, random);
  }

  private SSLContext context(Provider jsse, KeyPair keys, X509Certificate certificate, SecureRandom random)
      throws Exception {
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

  /** Buffers for the records between two engines, and for the application data each reads. */
  static final class Wire {
    final ByteBuffer toServer;
    final ByteBuffer toClient;
    final ByteBuffer clientApp;
    final ByteBuffer serverApp;

    Wire(SSLEngine client, SSLEngine server) {
      int packet = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize());
      toServer = ByteBuffer.allocate(packet * 4);
      toClient = ByteBuffer.allocate(packet * 4);
      clientApp = ByteBuffer.allocate(packet * 2);
      serverApp = ByteBuffer.allocate(packet * 2);
    }
  }

  /**
   * Runs a handshake between {@code client} and {@code server} to its end, post-handshake
   * messages (TLS 1.3 session tickets) read.
   *
   * @return the bytes of the client's first flight (its ClientHello)
   */
  static int handshake(SSLEngine client, SSLEngine server, Wire wire) throws SSLException {
    client.beginHandshake();
    server.beginHandshake();
    int clientHello = 0;
    for (int round = 0; round < 200; round++) {
      boolean clientMoved = step(client, wire.toServer, wire.toClient, wire.clientApp);
      if (round == 0) {
        clientHello = wire.toServer.position();
      }
      boolean serverMoved = step(server, wire.toClient, wire.toServer, wire.serverApp);
      if (!clientMoved && !serverMoved && done(client) && done(server)) {
        return clientHello;
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
