package org.estfleet.bench.jmh;

import java.security.Provider;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.estfleet.tls.KeyExchangeGroups;
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
    TlsEngines identities = new TlsEngines(random);
    groupNames = names(groups);
    serverGroupNames = names(serverGroups);
    Provider jsse = TlsEngines.jsse(provider);
    serverContext = identities.serverContext(jsse, random);
    clientContext = identities.clientContext(jsse, clientCertificate, random);
  }

  private static String[] names(String groups) {
    return groups.equals("default") ? null : KeyExchangeGroups.standardNames(List.of(groups.split("\\+")));
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
    clientHelloBytes = TlsEngines.handshake(client, server, new TlsEngines.Wire(client, server));
    return client.getSession();
  }
}
