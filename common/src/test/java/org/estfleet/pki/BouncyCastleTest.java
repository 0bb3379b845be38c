package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import org.junit.jupiter.api.Test;

class BouncyCastleTest {
  @Test
  void ownKey_makesAJdkEcKeyBouncyCastlesOwnThatSignsForTheSamePublicKey() throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    PrivateKey asRead = Pem.readPrivateKey(Pem.encodePrivateKey(keys.getPrivate()), "test key");

    PrivateKey own = BouncyCastle.ownKey(asRead);

    assertInstanceOf(org.bouncycastle.jce.interfaces.ECPrivateKey.class, own);
    assertEquals("EC", own.getAlgorithm(), "JSSE chooses keys by this name");
    assertArrayEquals(asRead.getEncoded(), own.getEncoded());
    Signature signer = Signature.getInstance("SHA256withECDSA", BouncyCastle.PROVIDER);
    signer.initSign(own);
    signer.update(new byte[] {1, 2, 3});
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance("SHA256withECDSA");
    verifier.initVerify(keys.getPublic());
    verifier.update(new byte[] {1, 2, 3});
    assertTrue(verifier.verify(signature));
  }

  @Test
  void ownKey_leavesBouncyCastleAndRsaKeysAsTheyAre() {
    PrivateKey ec = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM).getPrivate();
    PrivateKey own = BouncyCastle.ownKey(ec);
    PrivateKey rsa = Pem.readPrivateKey(Pem.encodePrivateKey(KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM).getPrivate()),
        "test key");

    assertSame(own, BouncyCastle.ownKey(own));
    assertSame(rsa, BouncyCastle.ownKey(rsa));
  }
}
