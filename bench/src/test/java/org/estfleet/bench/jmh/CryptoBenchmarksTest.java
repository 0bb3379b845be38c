package org.estfleet.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crypto benchmarks measure operations that succeed: a benchmark of a verification that
 * fails, or of an agreement on nothing, would measure an error path.
 */
class CryptoBenchmarksTest {
  @ParameterizedTest
  @ValueSource(strings = {"SunEC", "BC"})
  void signatures_verifyWithTheKeySeenBeforeAndWithKeysDecodedAfresh(String provider) throws Exception {
    SignatureBenchmark benchmark = new SignatureBenchmark();
    benchmark.provider = provider;
    benchmark.setUp();

    assertTrue(benchmark.verify());
    for (int i = 0; i < 300; i++) {
      assertTrue(benchmark.verifyNewKey(), "signer " + i);
    }
    assertTrue(benchmark.sign().length > 64);
  }

  @ParameterizedTest
  @CsvSource({"SunEC,secp256r1", "SunEC,X25519", "BC,secp256r1", "BC,X25519"})
  void keyExchange_agreesOnA32ByteSecretThatDiffersByPeer(String provider, String group) throws Exception {
    KeyExchangeBenchmark benchmark = new KeyExchangeBenchmark();
    benchmark.provider = provider;
    benchmark.group = group;
    benchmark.setUp();

    byte[] first = benchmark.decodeAndAgree();
    byte[] second = benchmark.decodeAndAgree();

    assertEquals(32, first.length);
    assertEquals(32, second.length);
    assertFalse(Arrays.equals(first, second), "each call agrees with another peer");
    assertNotEquals(benchmark.generateKeyPair().getPublic(), benchmark.generateKeyPair().getPublic());
  }

  @ParameterizedTest
  @CsvSource({"BCJSSE,false", "BCJSSE,true", "SunJSSE,false", "SunJSSE,true"})
  void tlsHandshake_completes_withTheProvidersGroupsOrX25519Alone(String provider, boolean clientCertificate)
      throws Exception {
    TlsHandshakeBenchmark benchmark = handshakeBenchmark(provider, clientCertificate, "default", "default");
    assertTrue(benchmark.handshake() instanceof javax.net.ssl.SSLSession);
    int byDefault = benchmark.clientHelloBytes;
    if (provider.equals("SunJSSE") && Runtime.version().feature() < 20) {
      return; // x25519 alone needs Java 20's SSLParameters.setNamedGroups
    }

    benchmark.groups = "x25519";
    benchmark.setUp();
    assertTrue(benchmark.handshake() instanceof javax.net.ssl.SSLSession);

    // One 32-byte key share instead of, by default, BCJSSE's X25519MLKEM768 (1,216 bytes) or
    // SunJSSE's x25519 and secp256r1 (32 + 65).
    assertTrue(benchmark.clientHelloBytes < byDefault - (provider.equals("BCJSSE") ? 1_000 : 60),
        byDefault + " bytes by default, " + benchmark.clientHelloBytes + " with x25519 alone");
  }

  @ParameterizedTest
  @CsvSource({"BCJSSE", "SunJSSE"})
  void tlsHandshake_serverGroups_areTheOnlyOnesAccepted(String provider) throws Exception {
    assumeTrue(provider.equals("BCJSSE") || Runtime.version().feature() >= 20, "SunJSSE takes groups from Java 20 on");
    TlsHandshakeBenchmark benchmark = handshakeBenchmark(provider, true, "x25519+secp256r1", "secp256r1");
    assertTrue(benchmark.handshake() instanceof javax.net.ssl.SSLSession);

    benchmark.groups = "x25519";
    benchmark.setUp();
    assertThrows(javax.net.ssl.SSLException.class, benchmark::handshake);
  }

  @ParameterizedTest
  @CsvSource({"BCJSSE,1024,1536", "SunJSSE,1024,1536", "BCJSSE,40000,17000", "SunJSSE,40000,17000"})
  void tlsRecords_carryEachByteBothWays_overAnEstablishedConnection(String provider, int requestBytes, int answerBytes)
      throws Exception {
    TlsRecordBenchmark benchmark = new TlsRecordBenchmark();
    benchmark.provider = provider;
    benchmark.requestBytes = requestBytes;
    benchmark.answerBytes = answerBytes;
    benchmark.setUp();

    for (int i = 0; i < 3; i++) {
      assertEquals(answerBytes, benchmark.exchange());
      assertArrayEquals(benchmark.request.array(), Arrays.copyOf(benchmark.serverRead.array(), requestBytes));
      assertArrayEquals(benchmark.answer.array(), Arrays.copyOf(benchmark.clientRead.array(), answerBytes));
    }
    // What BENCHMARKS item 34 says each provider's ends agree on: a change makes its table stale.
    assertEquals(provider.equals("BCJSSE") ? "TLS_CHACHA20_POLY1305_SHA256" : "TLS_AES_256_GCM_SHA384",
        benchmark.cipherSuite);
  }

  /** The handshake benchmark with these parameters, set up as JMH would. */
  private static TlsHandshakeBenchmark handshakeBenchmark(String provider, boolean clientCertificate, String groups,
      String serverGroups) throws Exception {
    TlsHandshakeBenchmark benchmark = new TlsHandshakeBenchmark();
    benchmark.provider = provider;
    benchmark.clientCertificate = clientCertificate;
    benchmark.groups = groups;
    benchmark.serverGroups = serverGroups;
    benchmark.setUp();
    return benchmark;
  }

  @Test
  void mlKem768_decapsulationRecoversTheSecret_andEncapsulationsDiffer() throws Exception {
    MlKemBenchmark benchmark = new MlKemBenchmark();
    benchmark.setUp();

    byte[] recovered = benchmark.decapsulate();
    assertArrayEquals(benchmark.secrets[benchmark.next], recovered);
    assertEquals(32, recovered.length);
    byte[] first = benchmark.decodeAndEncapsulate();
    byte[] second = benchmark.decodeAndEncapsulate();
    assertEquals(32, first.length);
    assertFalse(Arrays.equals(first, second), "two encapsulations, two secrets");
    assertEquals("ML-KEM-768", benchmark.generateKeyPair().getPublic().getAlgorithm());
  }
}
