package org.estfleet.tls;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.sec.SECNamedCurves;
import org.bouncycastle.asn1.teletrust.TeleTrusTNamedCurves;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jsse.BCSSLEngine;
import org.bouncycastle.jsse.BCSSLParameters;
import org.bouncycastle.jsse.BCSSLSocket;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;

/**
 * TLS key exchange groups chosen instead of the TLS provider's default: those a client offers
 * (est-load's {@code --groups}) or a server accepts (est-server's {@code tls.namedGroups}). Names
 * are checked against the TLS Supported Groups Bouncy Castle knows (IANA's registry), against the
 * TLS versions, and against what the provider can use, and set on each connection. Bouncy
 * Castle's TLS takes them on every Java version; the JDK's from Java 20 on
 * ({@code SSLParameters.setNamedGroups}), and before that only JVM-wide, from the
 * {@code jdk.tls.namedGroups} system property.
 */
public final class KeyExchangeGroups {
  /**
   * Whether this thread is asking which groups BCJSSE leaves out ({@link #sentBy}): BCJSSE
   * reports each (java.util.logging, on stderr; SEVERE when none is left), and the caller says
   * it, once and in its own words. Other threads' reports still show.
   */
  private static final ThreadLocal<Boolean> PROBING = ThreadLocal.withInitial(() -> false);
  /** Where BCJSSE reports groups it leaves out; held, since the JDK keeps loggers only weakly. */
  private static final Logger BC_GROUPS_LOG = quietWhileProbing(
      Logger.getLogger("org.bouncycastle.jsse.provider.NamedGroupInfo"));
  /** Each registered group's code point, by its name in lower case. */
  private static final Map<String, Integer> CODES = codes();
  /** {@code SSLParameters.setNamedGroups(String[])}, Java 20 on; null before. */
  private static final Method SET_NAMED_GROUPS = setNamedGroups();

  private KeyExchangeGroups() {}

  /**
   * The standard names of {@code names} (any case), in their order.
   *
   * @throws IllegalArgumentException naming the first that is empty, no registered group, or repeated
   */
  public static String[] standardNames(List<String> names) {
    String[] standard = new String[names.size()];
    for (int i = 0; i < standard.length; i++) {
      String name = names.get(i).strip();
      if (name.isEmpty()) {
        throw new IllegalArgumentException("an empty name in the list");
      }
      Integer code = CODES.get(name.toLowerCase(Locale.ROOT));
      if (code == null) {
        throw new IllegalArgumentException("'" + name + "' is not a TLS key exchange group (e.g. x25519, secp256r1, "
            + "X25519MLKEM768)");
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

  /** Whether any of {@code groups} (standard names) can be negotiated in TLS 1.2 ({@code false}) or 1.3. */
  public static boolean anyIn(String[] groups, boolean tls13) {
    return first(groups, tls13 ? ProtocolVersion.TLSv13 : ProtocolVersion.TLSv12) != null;
  }

  /**
   * The groups a client of {@code context} on {@code protocols}, told to offer {@code groups},
   * really names in the supported_groups of its ClientHello, in order, read from an engine that
   * connects nowhere: either provider leaves out, without a word, a group it cannot use. A
   * server's context answers for the server's provider too (client or server, it knows the same
   * groups).
   */
  public static List<String> sentBy(SSLContext context, String[] groups, String... protocols) throws SSLException {
    PROBING.set(true);
    try {
      SSLEngine engine = context.createSSLEngine();
      engine.setUseClientMode(true);
      engine.setEnabledProtocols(protocols);
      offer(engine, groups);
      ByteBuffer hello = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      engine.beginHandshake();
      engine.wrap(ByteBuffer.allocate(0), hello);
      engine.closeOutbound();
      hello.flip();
      return supportedGroups(hello);
    } finally {
      PROBING.set(false);
    }
  }

  private static Logger quietWhileProbing(Logger logger) {
    java.util.logging.Filter other = logger.getFilter();
    logger.setFilter(record -> !PROBING.get() && (other == null || other.isLoggable(record)));
    return logger;
  }

  /**
   * Those of {@code groups} a client of {@code context} on {@code protocols} would leave out of
   * its ClientHello ({@link #sentBy}): the groups that provider cannot use there.
   */
  public static List<String> leftOut(SSLContext context, String[] groups, String... protocols) throws SSLException {
    List<String> missing = new ArrayList<>(List.of(groups));
    missing.removeAll(sentBy(context, groups, protocols));
    return missing;
  }

  /**
   * The TLS 1.2 group of the curve of an EC certificate's key (e.g. {@code secp256r1}); empty for
   * another key type, or a curve TLS does not name. In TLS 1.2 (RFC 8422 section 5.1) a server
   * signs with an ECDSA certificate only when the curve of its key is among the groups in force;
   * TLS 1.3's signature schemes name their curve themselves.
   */
  public static Optional<String> curveOf(X509Certificate certificate) {
    return curveOf(certificate.getPublicKey());
  }

  /** As {@link #curveOf(X509Certificate)}, of a public key. */
  public static Optional<String> curveOf(java.security.PublicKey key) {
    AlgorithmIdentifier algorithm = SubjectPublicKeyInfo.getInstance(key.getEncoded()).getAlgorithm();
    if (!X9ObjectIdentifiers.id_ecPublicKey.equals(algorithm.getAlgorithm())
        || !(algorithm.getParameters() instanceof ASN1ObjectIdentifier curve)) {
      return Optional.empty();
    }
    String name = SECNamedCurves.getName(curve);
    name = name != null ? name : TeleTrusTNamedCurves.getName(curve);
    if (name == null) {
      return Optional.empty();
    }
    Integer code = CODES.get(name.toLowerCase(Locale.ROOT));
    return code == null ? Optional.empty() : Optional.of(NamedGroup.getName(code));
  }

  /** The supported_groups of the ClientHello in the TLS record at {@code record}'s position (RFC 8446 4.1.2, 4.2.7). */
  public static List<String> supportedGroups(ByteBuffer record) {
    if (record.get() != 22) {
      throw new IllegalStateException("not a handshake record");
    }
    skip(record, 2 + 2); // legacy_record_version, length: a ClientHello fits one record
    if (record.get() != 1) {
      throw new IllegalStateException("not a ClientHello");
    }
    skip(record, 3 + 2 + 32); // length, legacy_version, random
    skip(record, record.get() & 0xff); // legacy_session_id
    skip(record, record.getShort() & 0xffff); // cipher_suites
    skip(record, record.get() & 0xff); // legacy_compression_methods
    int end = record.position() + (record.getShort() & 0xffff);
    List<String> groups = new ArrayList<>();
    while (record.position() < end) {
      int type = record.getShort() & 0xffff;
      int size = record.getShort() & 0xffff;
      if (type == 10) {
        for (int n = (record.getShort() & 0xffff) / 2; n > 0; n--) {
          groups.add(NamedGroup.getName(record.getShort() & 0xffff));
        }
        return groups;
      }
      skip(record, size);
    }
    return groups; // none: a TLS 1.2 ClientHello without elliptic curves
  }

  private static void skip(ByteBuffer buffer, int bytes) {
    buffer.position(buffer.position() + bytes);
  }

  /** Whether the JDK's TLS (SunJSSE) can be given groups per connection on this runtime (Java 20 on). */
  public static boolean perConnectionInSunJsse() {
    return SET_NAMED_GROUPS != null;
  }

  /**
   * Offers {@code groups} (standard names), most preferred first, in the handshake {@code socket}
   * has not begun. Bouncy Castle's TLS sends its TLS 1.3 key share for the first that TLS 1.3 can
   * use (its own choice among them otherwise: x25519 before secp256r1 whatever their order).
   */
  public static void offer(SSLSocket socket, String[] groups) {
    if (socket instanceof BCSSLSocket bc) {
      bc.setParameters(withGroups(bc.getParameters(), groups));
    } else {
      socket.setSSLParameters(withGroups(socket.getSSLParameters(), groups));
    }
  }

  /** As {@link #offer(SSLSocket, String[])}, for a client engine (the JMH handshake benchmark's). */
  public static void offer(SSLEngine engine, String[] groups) {
    if (engine instanceof BCSSLEngine bc) {
      bc.setParameters(withGroups(bc.getParameters(), groups));
    } else {
      engine.setSSLParameters(withGroups(engine.getSSLParameters(), groups));
    }
  }

  /**
   * Makes the server engine {@code engine}, before its handshake, accept only {@code groups}
   * (standard names): a client that offers none of them fails the handshake. In TLS 1.3, Bouncy
   * Castle's TLS takes the first of them the client offers, in this order (with a
   * HelloRetryRequest, one round trip more, when the client sent its key share for another); in
   * TLS 1.2, and in the JDK's TLS, the client's order decides among them.
   */
  public static void accept(SSLEngine engine, String[] groups) {
    if (engine instanceof BCSSLEngine bc) {
      BCSSLParameters parameters = bc.getParameters();
      parameters.setNamedGroups(groups);
      parameters.setUseNamedGroupsOrder(true);
      bc.setParameters(parameters);
    } else {
      engine.setSSLParameters(withGroups(engine.getSSLParameters(), groups));
    }
  }

  private static BCSSLParameters withGroups(BCSSLParameters parameters, String[] groups) {
    parameters.setNamedGroups(groups);
    String keyShare = first(groups, ProtocolVersion.TLSv13);
    if (keyShare != null) {
      parameters.setEarlyKeyShares(new String[] {keyShare});
    }
    return parameters;
  }

  private static SSLParameters withGroups(SSLParameters parameters, String[] groups) {
    if (SET_NAMED_GROUPS == null) {
      throw new IllegalStateException("the JDK's TLS takes no named groups per connection before Java 20 (this is Java "
          + Runtime.version().feature() + ")");
    }
    invoke(SET_NAMED_GROUPS, parameters, (Object) groups);
    return parameters;
  }

  private static String first(String[] groups, ProtocolVersion version) {
    for (String group : groups) {
      if (NamedGroup.canBeNegotiated(CODES.get(group.toLowerCase(Locale.ROOT)), version)) {
        return group;
      }
    }
    return null;
  }

  private static void invoke(Method method, SSLParameters parameters, Object... arguments) {
    try {
      method.invoke(parameters, arguments);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("SSLParameters." + method.getName() + ": " + e, e);
    }
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

  private static Method setNamedGroups() {
    try {
      return SSLParameters.class.getMethod("setNamedGroups", String[].class);
    } catch (NoSuchMethodException e) {
      return null; // before Java 20
    }
  }
}
