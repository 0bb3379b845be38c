package org.estfleet.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Builds and signs one X.509 v3 certificate: a root (self-signed), an intermediate CA or an end
 * entity. Subject and authority key identifiers are always added, so that paths build by key
 * even when two CAs share a name (RFC 5280 section 4.2.1.1-2).
 *
 * <pre>{@code
 * X509Certificate root = new CertificateBuilder()
 *     .subject(new X500Name("CN=Root")).publicKey(rootKeys.getPublic())
 *     .validity(now, now.plus(Duration.ofDays(9000))).ca(1)
 *     .serial(CertificateBuilder.randomSerial(random))
 *     .selfSign(rootKeys.getPrivate());
 * }</pre>
 */
public final class CertificateBuilder {
  private static final int SERIAL_BYTES = 16;

  private X500Name subject;
  private PublicKey publicKey;
  private BigInteger serial;
  private Instant notBefore;
  private Instant notAfter;
  private boolean ca;
  private int pathLength = -1;
  private int keyUsage;
  private final List<KeyPurposeId> extendedKeyUsages = new ArrayList<>();
  private final List<GeneralName> subjectAltNames = new ArrayList<>();

  /**
   * A positive serial number of 127 random bits: well above the 64 bits RFC 5280 and the CA/B
   * Forum ask for, and within the 20-octet limit.
   */
  public static BigInteger randomSerial(SecureRandom random) {
    byte[] bytes = new byte[SERIAL_BYTES];
    BigInteger serial;
    do {
      random.nextBytes(bytes);
      bytes[0] &= 0x7f;
      serial = new BigInteger(bytes);
    } while (serial.signum() == 0);
    return serial;
  }

  public CertificateBuilder subject(X500Name subject) {
    this.subject = subject;
    return this;
  }

  public CertificateBuilder publicKey(PublicKey publicKey) {
    this.publicKey = publicKey;
    return this;
  }

  public CertificateBuilder serial(BigInteger serial) {
    if (serial.signum() <= 0) {
      throw new IllegalArgumentException("serial numbers must be positive (RFC 5280 4.1.2.2)");
    }
    this.serial = serial;
    return this;
  }

  public CertificateBuilder validity(Instant notBefore, Instant notAfter) {
    if (!notAfter.isAfter(notBefore)) {
      throw new IllegalArgumentException("notAfter " + notAfter + " is not after notBefore " + notBefore);
    }
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    return this;
  }

  /**
   * Makes this a CA certificate with keyCertSign and cRLSign.
   *
   * @param pathLength how many CAs may follow it in a path, or -1 for no limit
   */
  public CertificateBuilder ca(int pathLength) {
    this.ca = true;
    this.pathLength = pathLength;
    this.keyUsage |= KeyUsage.keyCertSign | KeyUsage.cRLSign;
    return this;
  }

  /** Adds key usage bits, e.g. {@link KeyUsage#digitalSignature}. */
  public CertificateBuilder keyUsage(int bits) {
    this.keyUsage |= bits;
    return this;
  }

  public CertificateBuilder extendedKeyUsage(KeyPurposeId purpose) {
    extendedKeyUsages.add(purpose);
    return this;
  }

  public CertificateBuilder extendedKeyUsages(List<KeyPurposeId> purposes) {
    extendedKeyUsages.addAll(purposes);
    return this;
  }

  public CertificateBuilder subjectAltName(GeneralName name) {
    subjectAltNames.add(name);
    return this;
  }

  public CertificateBuilder subjectAltNames(List<GeneralName> names) {
    subjectAltNames.addAll(names);
    return this;
  }

  /** Signs the certificate with its own key: a root, whose issuer is its subject. */
  public X509Certificate selfSign(PrivateKey key) {
    return sign(subject, publicKey, key);
  }

  /** Signs the certificate with a CA's key. */
  public X509Certificate signWith(X509Certificate issuer, PrivateKey issuerKey) {
    X500Name issuerName = X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
    return sign(issuerName, issuer.getPublicKey(), issuerKey);
  }

  private X509Certificate sign(X500Name issuerName, PublicKey issuerPublicKey, PrivateKey issuerKey) {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(publicKey, "publicKey");
    Objects.requireNonNull(serial, "serial");
    Objects.requireNonNull(notBefore, "validity");
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              issuerName, serial, Date.from(notBefore), Date.from(notAfter), subject, publicKey);
      builder.addExtension(Extension.basicConstraints, true,
          ca ? (pathLength < 0 ? new BasicConstraints(true) : new BasicConstraints(pathLength))
              : new BasicConstraints(false));
      if (keyUsage != 0) {
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
      }
      if (!extendedKeyUsages.isEmpty()) {
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(extendedKeyUsages.toArray(KeyPurposeId[]::new)));
      }
      if (!subjectAltNames.isEmpty()) {
        // RFC 5280 4.2.1.6: critical when the subject is empty.
        builder.addExtension(Extension.subjectAlternativeName, subject.getRDNs().length == 0,
            new GeneralNames(subjectAltNames.toArray(GeneralName[]::new)));
      }
      SubjectKeyIdentifier ski = extensions.createSubjectKeyIdentifier(publicKey);
      builder.addExtension(Extension.subjectKeyIdentifier, false, ski);
      AuthorityKeyIdentifier aki = extensions.createAuthorityKeyIdentifier(issuerPublicKey);
      builder.addExtension(Extension.authorityKeyIdentifier, false, aki);

      ContentSigner signer =
          new JcaContentSignerBuilder(KeyAlgorithm.signatureAlgorithmFor(issuerPublicKey))
              .setProvider(BouncyCastle.PROVIDER)
              .build(issuerKey);
      X509CertificateHolder holder = builder.build(signer);
      return Certificates.fromDer(holder.getEncoded());
    } catch (NoSuchAlgorithmException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot sign certificate for " + subject + ": " + e.getMessage(), e);
    }
  }
}
