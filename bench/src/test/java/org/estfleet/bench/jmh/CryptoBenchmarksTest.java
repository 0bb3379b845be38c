package org.estfleet.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
