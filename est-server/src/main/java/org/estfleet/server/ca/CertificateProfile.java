package org.estfleet.server.ca;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.estfleet.est.CsrAttributes;
import org.estfleet.server.config.ProfileConfig;

/**
 * What goes into a certificate besides the CSR's subject, key and names: validity, key usage
 * and extended key usage; and what {@code /csrattrs} asks clients for.
 *
 * @param keyUsage key usage bits, as {@link KeyUsage} constants OR-ed together
 */
public record CertificateProfile(Duration lifetime, Duration backdate, int keyUsage, List<KeyPurposeId> extendedKeyUsages,
    CsrAttributes csrAttributes) {
  public CertificateProfile {
    Objects.requireNonNull(lifetime, "lifetime");
    Objects.requireNonNull(backdate, "backdate");
    extendedKeyUsages = List.copyOf(extendedKeyUsages);
    csrAttributes = csrAttributes == null ? new CsrAttributes(List.of()) : csrAttributes;
  }

  /** The profile a configuration describes. */
  public static CertificateProfile of(ProfileConfig config) {
    int bits = 0;
    for (ProfileConfig.KeyUsageBit bit : config.keyUsage()) {
      bits |= switch (bit) {
        case DIGITAL_SIGNATURE -> KeyUsage.digitalSignature;
        case KEY_ENCIPHERMENT -> KeyUsage.keyEncipherment;
        case KEY_AGREEMENT -> KeyUsage.keyAgreement;
        case NON_REPUDIATION -> KeyUsage.nonRepudiation;
      };
    }
    List<KeyPurposeId> purposes = config.extendedKeyUsage().stream()
        .map(name -> switch (name) {
          case CLIENT_AUTH -> KeyPurposeId.id_kp_clientAuth;
          case SERVER_AUTH -> KeyPurposeId.id_kp_serverAuth;
          case CMC_RA -> KeyPurposeId.id_kp_cmcRA;
        })
        .toList();
    List<CsrAttributes.Item> items = config.csrAttributes().stream()
        .map(entry -> new CsrAttributes.Item(new ASN1ObjectIdentifier(entry.oid()),
            entry.values().stream().map(v -> (ASN1Encodable) new ASN1ObjectIdentifier(v)).toList()))
        .collect(Collectors.toCollection(ArrayList::new));
    if (config.popLinking() == ProfileConfig.PopLinking.REQUIRED
        && items.stream().noneMatch(item -> item.type().equals(CsrAttributes.CHALLENGE_PASSWORD))) {
      items.add(CsrAttributes.Item.oid(CsrAttributes.CHALLENGE_PASSWORD));
    }
    return new CertificateProfile(config.lifetime(), config.backdate(), bits, purposes, new CsrAttributes(items));
  }

  /** The profile's key usage bits that a key of this algorithm may carry ({@link #usableBy}). */
  public int keyUsageFor(AlgorithmIdentifier keyAlgorithm) {
    return usableBy(keyUsage, keyAlgorithm);
  }

  /**
   * The key usage bits of {@code bits} that a key of this algorithm (its subjectPublicKeyInfo's)
   * may carry: keyEncipherment and dataEncipherment for rsaEncryption keys only (RFC 4055 section
   * 1.2 allows signing only to id-RSASSA-PSS keys, RFC 5480 section 3 forbids them on EC keys, RFC
   * 8410 section 5 on Ed25519), keyAgreement for EC keys only. A profile lists what its
   * certificates may do; each gets what its key can.
   */
  public static int usableBy(int bits, AlgorithmIdentifier keyAlgorithm) {
    ASN1ObjectIdentifier algorithm = keyAlgorithm.getAlgorithm();
    int usable = bits;
    if (!algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      usable &= ~(KeyUsage.keyEncipherment | KeyUsage.dataEncipherment);
    }
    if (!algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      usable &= ~(KeyUsage.keyAgreement | KeyUsage.encipherOnly | KeyUsage.decipherOnly);
    }
    return usable;
  }
}
