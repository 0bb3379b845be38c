package org.estfleet.pki;

import java.security.Provider;
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
  /** Immutable once constructed; safe to share between threads. */
  public static final Provider PROVIDER = new BouncyCastleProvider();

  /**
   * Bouncy Castle's TLS provider (BCJSSE) doing its cryptography with {@link #PROVIDER}: a full
   * TLS 1.3 handshake costs both ends about 40% of the CPU of the JDK's SunJSSE on Java 17
   * (docs/BENCHMARKS.md), and it exposes the TLS channel bindings that PoP linking needs.
   */
  public static final Provider JSSE = new BouncyCastleJsseProvider(PROVIDER);

  private BouncyCastle() {}
}
