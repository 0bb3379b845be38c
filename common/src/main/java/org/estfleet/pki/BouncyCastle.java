package org.estfleet.pki;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;

/**
 * The one Bouncy Castle JCA provider instance the project uses, passed explicitly to the JCA
 * calls that need it. It is never installed globally with {@code Security.addProvider}: what a
 * process trusts and signs with stays visible at each call site.
 *
 * <p>Bouncy Castle's ECDSA is several times faster than SunEC on Java 17 (docs/BENCHMARKS.md),
 * which is why certificate signing and CSR verification use it.
 */
public final class BouncyCastle {
  /**
   * BCJSSE reports through {@code java.util.logging}: at INFO every security property it reads,
   * and, for every TLS context made, a warning for each entry of the JDK's
   * {@code jdk.certpath.disabledAlgorithms} it does not understand (entries about signed JARs and
   * the JDK's own CAs): noise in a server's log. Its other warnings still show. Referenced here
   * because the JDK keeps loggers only weakly, and a collected logger forgets its level.
   */
  private static final Logger JSSE_LOG = quiet(Logger.getLogger("org.bouncycastle.jsse"), Level.WARNING);
  private static final Logger CONSTRAINTS_LOG =
      quiet(Logger.getLogger("org.bouncycastle.jsse.provider.DisabledAlgorithmConstraints"), Level.SEVERE);

  /** Immutable once constructed; safe to share between threads. */
  public static final Provider PROVIDER = new BouncyCastleProvider();

  /**
   * Bouncy Castle's TLS provider (BCJSSE) doing its cryptography with {@link #PROVIDER}: a full
   * TLS 1.3 handshake costs both ends about 40% of the CPU of the JDK's SunJSSE on Java 17
   * (docs/BENCHMARKS.md), and it exposes the TLS channel bindings that PoP linking needs.
   */
  public static final Provider JSSE = new BouncyCastleJsseProvider(PROVIDER);

  /**
   * {@code key} as Bouncy Castle's own key object, for a key that signs often with
   * {@link #PROVIDER} or {@link #JSSE} (a CA's issuing key, a server's TLS key). Given an EC key of
   * another provider (as {@link Pem} reads them, for the JDK's TLS), Bouncy Castle converts its
   * curve parameters on every signature and so cannot reuse its precomputed multiples of the
   * generator: a P-256 signature cost about 3 times as much (docs/BENCHMARKS.md). The key keeps
   * its algorithm name, {@code EC}. Keys of other types are returned as they are.
   *
   * @throws IllegalArgumentException if the key cannot be read back (not an encodable EC key)
   */
  public static PrivateKey ownKey(PrivateKey key) {
    if (!(key instanceof java.security.interfaces.ECPrivateKey)
        || key instanceof org.bouncycastle.jce.interfaces.ECPrivateKey) {
      return key;
    }
    try {
      return KeyFactory.getInstance("EC", PROVIDER).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("cannot convert the " + key.getAlgorithm() + " key: " + e.getMessage(), e);
    }
  }

  private static Logger quiet(Logger logger, Level level) {
    logger.setLevel(level);
    return logger;
  }

  private BouncyCastle() {}
}
