package org.estfleet.tls;

import com.google.gson.annotations.SerializedName;
import java.security.Provider;
import java.util.Optional;
import org.estfleet.pki.BouncyCastle;

/**
 * Which TLS implementation connects, as {@code server.json} and {@code agent.json} name it
 * ({@code tls.provider}): Bouncy Castle's (BCJSSE, on its own crypto provider: cheaper
 * handshakes, channel bindings, the hybrid post-quantum key exchange) or the JDK's (SunJSSE).
 */
public enum TlsProvider {
  @SerializedName("BCJSSE") BCJSSE("BCJSSE"),
  @SerializedName("SunJSSE") SUN_JSSE("SunJSSE");

  private final String configName;

  TlsProvider(String configName) {
    this.configName = configName;
  }

  /** The JSSE provider to ask for TLS contexts; null for the JDK's default. */
  public Provider jsse() {
    return this == BCJSSE ? BouncyCastle.JSSE : null;
  }

  /** The provider named {@code name} as the configuration spells it ({@code BCJSSE}, {@code SunJSSE}). */
  public static Optional<TlsProvider> named(String name) {
    for (TlsProvider provider : values()) {
      if (provider.configName.equals(name)) {
        return Optional.of(provider);
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return configName;
  }
}
