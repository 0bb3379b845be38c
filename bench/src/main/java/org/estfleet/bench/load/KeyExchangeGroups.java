package org.estfleet.bench.load;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.jsse.BCSSLParameters;
import org.bouncycastle.jsse.BCSSLSocket;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;

/**
 * The TLS key exchange groups est-load offers ({@code --groups}) instead of its TLS provider's
 * default: names checked against IANA's TLS Supported Groups registry (as Bouncy Castle knows it),
 * set on each connection.
 * Bouncy Castle's TLS takes them on every Java version; the JDK's from Java 20 on
 * ({@code SSLParameters.setNamedGroups}), and before that only JVM-wide, from the
 * {@code jdk.tls.namedGroups} system property.
 */
final class KeyExchangeGroups {
  /** Each registered group's code point, by its name in lower case. */
  private static final Map<String, Integer> CODES = codes();
  /** {@code SSLParameters.setNamedGroups(String[])}, Java 20 on; null before. */
  private static final Method SET_NAMED_GROUPS = setNamedGroupsMethod();

  private KeyExchangeGroups() {}

  /**
   * The standard names of {@code names} (any case), in their order.
   *
   * @throws IllegalArgumentException naming the first that is no registered group, or a repeated one
   */
  static String[] standardNames(List<String> names) {
    String[] standard = new String[names.size()];
    for (int i = 0; i < standard.length; i++) {
      String name = names.get(i).strip();
      Integer code = CODES.get(name.toLowerCase(Locale.ROOT));
      if (code == null) {
        throw new IllegalArgumentException("'" + name + "' is not a TLS key exchange group (names as IANA "
            + "registers them, e.g. x25519, secp256r1, X25519MLKEM768)");
      }
      standard[i] = NamedGroup.getName(code);
      for (int j = 0; j < i; j++) {
        if (standard[j].equals(standard[i])) {
          throw new IllegalArgumentException("'" + name + "' is given twice");
        }
      }
    }
    return standard;
  }

  /** Whether any of {@code names} (standard names) can be negotiated in TLS 1.2 (a hybrid or ML-KEM group cannot). */
  static boolean anyInTls12(String[] names) {
    for (String name : names) {
      if (NamedGroup.canBeNegotiated(CODES.get(name.toLowerCase(Locale.ROOT)), ProtocolVersion.TLSv12)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the JDK's TLS (SunJSSE) can be given groups per connection on this runtime (Java 20 on). */
  static boolean perConnectionInSunJsse() {
    return SET_NAMED_GROUPS != null;
  }

  /**
   * Offers {@code groups}, most preferred first, in the handshake {@code socket} has not begun.
   * Bouncy Castle's TLS sends its TLS 1.3 key share for the first (its own choice among them
   * otherwise: x25519 before secp256r1 whatever their order).
   */
  static void offer(SSLSocket socket, String[] groups) {
    if (socket instanceof BCSSLSocket bc) {
      BCSSLParameters parameters = bc.getParameters();
      parameters.setNamedGroups(groups);
      parameters.setEarlyKeyShares(new String[] {groups[0]});
      bc.setParameters(parameters);
      return;
    }
    if (SET_NAMED_GROUPS == null) {
      throw new IllegalStateException("this runtime's " + socket.getClass().getName() + " takes no named groups "
          + "per connection (Java 20 or later does)");
    }
    SSLParameters parameters = socket.getSSLParameters();
    try {
      SET_NAMED_GROUPS.invoke(parameters, (Object) groups);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("SSLParameters.setNamedGroups: " + e, e);
    }
    socket.setSSLParameters(parameters);
  }

  private static Map<String, Integer> codes() {
    Map<String, Integer> codes = new HashMap<>();
    for (int group = 0; group <= 0xFFFF; group++) {
      if (NamedGroup.refersToASpecificGroup(group)) {
        codes.put(NamedGroup.getName(group).toLowerCase(Locale.ROOT), group);
      }
    }
    return Map.copyOf(codes);
  }

  private static Method setNamedGroupsMethod() {
    try {
      return SSLParameters.class.getMethod("setNamedGroups", String[].class);
    } catch (NoSuchMethodException e) {
      return null; // before Java 20
    }
  }
}
