package org.estfleet.bench.jmh;

import java.nio.ByteBuffer;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One request and its answer on an established TLS 1.3 connection, client and server engines
 * in memory: what a kept-alive re-enrollment, or a gateway's forward to its CA, pays for TLS
 * beyond the handshake (the record layer: encryption, authentication, framing). Both ends run in
 * the benchmark thread. The sizes default to those of a kept-alive re-enrollment: a request of
 * HTTP headers and a base64 P-256 CSR, an answer of headers and a base64 certs-only CMS.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TlsRecordBenchmark {
  @Param({"SunJSSE", "BCJSSE"})
  public String provider;

  /** Bytes the client sends. */
  @Param({"1024"})
  public int requestBytes;

  /** Bytes the server answers. */
  @Param({"1536"})
  public int answerBytes;

  /** The cipher suite the handshake agreed on, for the tests and the record. */
  String cipherSuite;

  private SSLEngine client;
  private SSLEngine server;
  private TlsEngines.Wire wire;
  /** What each end sends, and what each read in the last exchange (package-private for the tests). */
  ByteBuffer request;
  ByteBuffer answer;
  ByteBuffer serverRead;
  ByteBuffer clientRead;

  @Setup
  public void setUp() throws Exception {
    SecureRandom random = new SecureRandom();
    TlsEngines identities = new TlsEngines(random);
    Provider jsse = TlsEngines.jsse(provider);
    client = identities.clientContext(jsse, true, random).createSSLEngine();
    client.setUseClientMode(true);
    client.setEnabledProtocols(new String[] {"TLSv1.3"});
    server = identities.serverContext(jsse, random).createSSLEngine();
    server.setUseClientMode(false);
    server.setEnabledProtocols(new String[] {"TLSv1.3"});
    server.setNeedClientAuth(true);
    wire = new TlsEngines.Wire(client, server);
    TlsEngines.handshake(client, server, wire);
    cipherSuite = client.getSession().getCipherSuite();
    request = ByteBuffer.allocate(requestBytes);
    answer = ByteBuffer.allocate(answerBytes);
    random.nextBytes(request.array());
    random.nextBytes(answer.array());
    serverRead = ByteBuffer.allocate(requestBytes + wire.serverApp.capacity());
    clientRead = ByteBuffer.allocate(answerBytes + wire.clientApp.capacity());
  }

  /** The client's request to the server, then the server's answer back; the bytes the client read. */
  @Benchmark
  public int exchange() throws SSLException {
    request.clear();
    answer.clear();
    serverRead.clear();
    clientRead.clear();
    send(client, request, wire.toServer, server, serverRead);
    send(server, answer, wire.toClient, client, clientRead);
    if (serverRead.position() != requestBytes || clientRead.position() != answerBytes) {
      throw new IllegalStateException("read " + serverRead.position() + " of " + requestBytes + " and "
          + clientRead.position() + " of " + answerBytes + " bytes");
    }
    return clientRead.position();
  }

  /** Wraps all of {@code data} at {@code from}, records of at most 16 KiB, and unwraps them at {@code to}. */
  private static void send(SSLEngine from, ByteBuffer data, ByteBuffer records, SSLEngine to, ByteBuffer read)
      throws SSLException {
    while (data.hasRemaining()) {
      check(from.wrap(data, records));
      records.flip();
      while (records.hasRemaining()) {
        check(to.unwrap(records, read));
      }
      records.clear();
    }
  }

  private static void check(SSLEngineResult result) {
    if (result.getStatus() != SSLEngineResult.Status.OK) {
      throw new IllegalStateException(result.toString());
    }
  }
}
