package org.estfleet.server.ca;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.server.config.ProfileConfig;

/**
 * What goes into a certificate besides the CSR's subject, key and names: validity, key usage
 * and extended key usage.
 *
 * @param keyUsage key usage bits, as {@link KeyUsage} constants OR-ed together
 */
public record CertificateProfile(Duration lifetime, Duration backdate, int keyUsage, List<KeyPurposeId> extendedKeyUsages) {
  public CertificateProfile {
    Objects.requireNonNull(lifetime, "lifetime");
    Objects.requireNonNull(backdate, "backdate");
    extendedKeyUsages = List.copyOf(extendedKeyUsages);
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
        })
        .toList();
    return new CertificateProfile(config.lifetime(), config.backdate(), bits, purposes);
  }
}
