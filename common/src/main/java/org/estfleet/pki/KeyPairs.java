package org.estfleet.pki;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;

/** Checks on key pairs. */
public final class KeyPairs {
  private KeyPairs() {}

  /**
   * Whether {@code privateKey} is the private half of {@code publicKey}: a message signed with
   * one verifies with the other. This is what "the certificate matches the key"
   * means, whatever the algorithm.
   */
  public static boolean matches(PublicKey publicKey, PrivateKey privateKey) {
    if (!publicKey.getAlgorithm().equals(privateKey.getAlgorithm())
        && !(isEc(publicKey.getAlgorithm()) && isEc(privateKey.getAlgorithm()))) {
      return false;
    }
    try {
      String algorithm = KeyAlgorithm.signatureAlgorithmFor(publicKey);
      // Any message will do: only the matching private key makes a signature that verifies.
      byte[] challenge = "estfleet key pair check".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm, BouncyCastle.PROVIDER);
      signer.initSign(privateKey);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm, BouncyCastle.PROVIDER);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean isEc(String algorithm) {
    return algorithm.equals("EC") || algorithm.equals("ECDSA");
  }
}
