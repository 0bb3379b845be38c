package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link KeyAlgorithm#of}: the types a server generates keys of, told apart by what the key says. */
class KeyAlgorithmTest {
  @Test
  void of_namesEachTypeItGenerates() {
    for (KeyAlgorithm type : KeyAlgorithm.values()) {
      assertEquals(Optional.of(type), KeyAlgorithm.of(type.generate(TestPki.RANDOM).getPublic()), type.id());
    }
  }

  @Test
  void of_isEmptyForAnotherCurveOfTheSameSize_anRsaPssKey_orAnotherSize() throws Exception {
    assertEquals(Optional.empty(), KeyAlgorithm.of(ec("secp256k1")));
    assertEquals(Optional.empty(), KeyAlgorithm.of(ec("brainpoolP256r1")));
    assertEquals(Optional.empty(), KeyAlgorithm.of(ec("secp521r1")));
    KeyPairGenerator pss = KeyPairGenerator.getInstance("RSASSA-PSS");
    pss.initialize(2048, TestPki.RANDOM);
    assertEquals(Optional.empty(), KeyAlgorithm.of(pss.generateKeyPair().getPublic()), "RSA restricted to PSS");
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(1024, TestPki.RANDOM);
    assertEquals(Optional.empty(), KeyAlgorithm.of(rsa.generateKeyPair().getPublic()));
  }

  private static PublicKey ec(String curve) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
    generator.initialize(new ECGenParameterSpec(curve), TestPki.RANDOM);
    return generator.generateKeyPair().getPublic();
  }
}
