package org.estfleet.server.ca;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.KeyAlgorithm;

/**
 * Creates a new two-level CA: a self-signed root, and an issuing CA under it that signs device
 * certificates, both EC P-256. Names carry a random suffix, so that two CAs made by
 * {@code est-server init} never share a name (which would confuse path building on clients that
 * trust both).
 */
public final class CaGenerator {
  /** Roots outlive the devices that trust them: 25 years. */
  public static final Duration ROOT_VALIDITY = Duration.ofDays(25 * 365);
  /** The issuing CA is replaced well before the root: 10 years. */
  public static final Duration ISSUING_VALIDITY = Duration.ofDays(10 * 365);

  /** The longest stem: " Issuing CA " and 8 hexadecimal digits make it a CN of 64 characters. */
  static final int MAX_STEM = 64 - " Issuing CA ".length() - 8;

  private final Clock clock;
  private final SecureRandom random;

  public CaGenerator(Clock clock, SecureRandom random) {
    this.clock = clock;
    this.random = random;
  }

  /** A new CA's certificates and key pairs. */
  public record GeneratedCa(X509Certificate root, KeyPair rootKeys, X509Certificate issuing, KeyPair issuingKeys) {}

  /**
   * Generates a root and an issuing CA.
   *
   * @param stem the name's stem, e.g. {@code EST Fleet Development}; cut to {@value #MAX_STEM}
   *     characters, so that the CNs stay within RFC 5280's 64 (a rollover takes the stem from a
   *     root's whole CN when init did not make it)
   */
  public GeneratedCa generate(String stem) {
    String name = stem.length() <= MAX_STEM ? stem
        : stem.substring(0, Character.isHighSurrogate(stem.charAt(MAX_STEM - 1)) ? MAX_STEM - 1 : MAX_STEM).strip();
    byte[] suffixBytes = new byte[4];
    random.nextBytes(suffixBytes);
    String suffix = HexFormat.of().formatHex(suffixBytes);
    Instant now = clock.instant();

    KeyPair rootKeys = KeyAlgorithm.EC_P256.generate(random);
    X509Certificate root = new CertificateBuilder()
        .subject(name(name + " Root CA " + suffix))
        .publicKey(rootKeys.getPublic())
        .serial(CertificateBuilder.randomSerial(random))
        .validity(now.minus(Duration.ofHours(1)), now.plus(ROOT_VALIDITY))
        // No path length limit on a root: in a rollover the path from the old root runs through
        // the link certificate (NewWithOld) and then the new issuing CA, two CAs below it, and
        // OpenSSL (curl, libest) enforces a trust anchor's own limit. The issuing CA's 0 bounds
        // what it may sign.
        .ca(-1)
        .selfSign(rootKeys.getPrivate());

    KeyPair issuingKeys = KeyAlgorithm.EC_P256.generate(random);
    X509Certificate issuing = new CertificateBuilder()
        .subject(name(name + " Issuing CA " + suffix))
        .publicKey(issuingKeys.getPublic())
        .serial(CertificateBuilder.randomSerial(random))
        .validity(now.minus(Duration.ofHours(1)), now.plus(ISSUING_VALIDITY))
        .ca(0)
        .signWith(root, rootKeys.getPrivate());
    return new GeneratedCa(root, rootKeys, issuing, issuingKeys);
  }

  private static X500Name name(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "EST Fleet")
        .addRDN(BCStyle.CN, commonName)
        .build();
  }
}
