package org.estfleet.pki;

import java.security.Provider;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * The one Bouncy Castle JCA provider instance the project uses, passed explicitly to the JCA
 * calls that need it. It is never installed globally with {@code Security.addProvider}: what a
 * process trusts and signs with stays visible at each call site.
 *
 * <p>Bouncy Castle's ECDSA is several times faster than SunEC on Java 17 (docs/BENCHMARKS.md),
 * which is why certificate signing and CSR verification use it.
 */
public final class BouncyCastle {
  /** Immutable once constructed; safe to share between threads. */
  public static final Provider PROVIDER = new BouncyCastleProvider();

  private BouncyCastle() {}
}
