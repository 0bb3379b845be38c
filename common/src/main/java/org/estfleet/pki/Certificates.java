package org.estfleet.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.DERBMPString;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERT61String;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.DERVisibleString;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;

/** Parsing, fingerprints and names of X.509 certificates. */
public final class Certificates {
  /** Attributes whose values RFC 5280 (appendix A) and X.520 make PrintableString. */
  private static final Set<ASN1ObjectIdentifier> PRINTABLE =
      Set.of(BCStyle.C, BCStyle.SERIALNUMBER, BCStyle.DN_QUALIFIER, BCStyle.TELEPHONE_NUMBER);

  /** Keywords for {@link #readableName} beyond RFC 2253's. */
  private static final Map<String, String> READABLE_KEYWORDS = Map.of(
      BCStyle.SERIALNUMBER.getId(), "serialNumber", BCStyle.EmailAddress.getId(), "emailAddress");

  private Certificates() {}

  /**
   * Parses one DER certificate.
   *
   * @throws IllegalArgumentException if the bytes are not a certificate
   */
  public static X509Certificate fromDer(byte[] der) {
    try {
      return (X509Certificate)
          CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException | RuntimeException e) {
      throw new IllegalArgumentException("not a DER X.509 certificate: " + e.getMessage(), e);
    }
  }

  static X509Certificate fromHolder(X509CertificateHolder holder) {
    try {
      return fromDer(holder.getEncoded());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot encode certificate: " + e.getMessage(), e);
    }
  }

  /** The DER encoding of a certificate. */
  public static byte[] der(X509Certificate certificate) {
    try {
      return certificate.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("certificate cannot be encoded: " + e.getMessage(), e);
    }
  }

  /** Lower-case hex SHA-256 of the certificate's DER encoding. */
  public static String fingerprint(X509Certificate certificate) {
    return sha256Hex(der(certificate));
  }

  /** Lower-case hex SHA-256 of the public key's SubjectPublicKeyInfo encoding. */
  public static String publicKeyFingerprint(PublicKey key) {
    return sha256Hex(key.getEncoded());
  }

  /**
   * Lower-case hex of the serial number, an even number of digits (whole octets, as OpenSSL
   * prints it): the form recorded and shown everywhere in EST Fleet.
   */
  public static String serialHex(BigInteger serial) {
    String hex = serial.toString(16);
    return hex.length() % 2 == 0 ? hex : "0" + hex;
  }

  /** {@link #serialHex(BigInteger)} of a certificate's serial number. */
  public static String serialHex(X509Certificate certificate) {
    return serialHex(certificate.getSerialNumber());
  }

  /** The value of the single CN attribute of a name, if it has exactly one. */
  public static Optional<String> commonName(X500Name name) {
    return singleAttribute(name, BCStyle.CN);
  }

  /**
   * The value of a name's attribute of {@code type}, if it has exactly one, in an RDN of its own,
   * and the value is a string.
   */
  public static Optional<String> singleAttribute(X500Name name, ASN1ObjectIdentifier type) {
    RDN[] rdns = name.getRDNs(type);
    if (rdns.length != 1 || rdns[0].isMultiValued()) {
      return Optional.empty();
    }
    ASN1Encodable value = rdns[0].getFirst().getValue();
    return value instanceof ASN1String string ? Optional.of(string.getString()) : Optional.empty();
  }

  /**
   * {@code name} as a certificate should carry it (RFC 5280 section 4.1.2.6 and appendix A):
   * empty RDNs left out; PrintableString for the country, serial number, DN qualifier and
   * telephone number, IA5String for an email address or domain component, where the value
   * allows; any other value a UTF8String or PrintableString as it came, and an IA5String,
   * TeletexString, BMPString or VisibleString (not, or no longer, for new certificates) as a
   * UTF8String. Values that are not such strings ({@link #isDirectoryText}), and multi-valued
   * RDNs, are left as they are. Two names that differ only in how a CSR encoded their strings
   * are equal after this.
   */
  public static X500Name canonicalName(X500Name name) {
    List<RDN> canonical = new ArrayList<>();
    for (RDN rdn : name.getRDNs()) {
      if (rdn.size() == 0) {
        continue;
      }
      if (rdn.isMultiValued()) {
        canonical.add(rdn);
        continue;
      }
      ASN1ObjectIdentifier type = rdn.getFirst().getType();
      canonical.add(new RDN(type, canonicalValue(type, rdn.getFirst().getValue())));
    }
    return new X500Name(canonical.toArray(RDN[]::new));
  }

  /**
   * Whether {@code value} is a string type whose text a certificate may carry, re-encoded by
   * {@link #canonicalName}: UTF8String, PrintableString, IA5String, TeletexString, BMPString or
   * VisibleString (not a BIT STRING, UniversalString or other {@link ASN1String}).
   */
  public static boolean isDirectoryText(ASN1Encodable value) {
    return value instanceof DERUTF8String || value instanceof DERPrintableString || value instanceof DERIA5String
        || value instanceof DERT61String || value instanceof DERBMPString || value instanceof DERVisibleString;
  }

  private static ASN1Encodable canonicalValue(ASN1ObjectIdentifier type, ASN1Encodable value) {
    if (!isDirectoryText(value)) {
      return value;
    }
    String text = ((ASN1String) value).getString();
    if (PRINTABLE.contains(type) && DERPrintableString.isPrintableString(text)) {
      return new DERPrintableString(text);
    }
    if ((type.equals(BCStyle.EmailAddress) || type.equals(BCStyle.DC)) && DERIA5String.isIA5String(text)) {
      return new DERIA5String(text);
    }
    return value instanceof DERUTF8String || value instanceof DERPrintableString ? value : new DERUTF8String(text);
  }

  /**
   * A name as RFC 2253 writes it, with serialNumber and emailAddress as text: the JDK writes
   * attributes RFC 2253 has no keyword for as hex ({@code 2.5.4.5=#1304...}), unreadable in a
   * message about an IEEE 802.1AR device certificate.
   */
  private static String readableName(X500Principal name) {
    return name.getName(X500Principal.RFC2253, READABLE_KEYWORDS);
  }

  /** {@link #commonName(X500Name)} of a JCA principal. */
  public static Optional<String> commonName(X500Principal principal) {
    return commonName(X500Name.getInstance(principal.getEncoded()));
  }

  /** The subject alternative names of a certificate; empty if it has none. */
  public static List<GeneralName> subjectAltNames(X509Certificate certificate) {
    // Asked first because the JDK's getExtensionValue throws and catches an exception inside
    // when the extension is absent, once per re-enrollment of a certificate without one.
    String oid = Extension.subjectAlternativeName.getId();
    Set<String> critical = certificate.getCriticalExtensionOIDs();
    Set<String> nonCritical = certificate.getNonCriticalExtensionOIDs();
    if (!(critical != null && critical.contains(oid) || nonCritical != null && nonCritical.contains(oid))) {
      return List.of();
    }
    try {
      X509CertificateHolder holder = new X509CertificateHolder(certificate.getEncoded());
      GeneralNames names = GeneralNames.fromExtensions(holder.getExtensions(), Extension.subjectAlternativeName);
      return names == null ? List.of() : List.of(names.getNames());
    } catch (IOException | CertificateEncodingException e) {
      throw new IllegalArgumentException("unreadable subjectAltName: " + e.getMessage(), e);
    }
  }

  /** Whether {@code certificate}'s signature verifies with {@code key}; false for any failure to verify it. */
  public static boolean isSignedBy(X509Certificate certificate, PublicKey key) {
    try {
      certificate.verify(key);
      return true;
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** Whether {@code at} lies within the certificate's validity period (bounds included). */
  public static boolean isValidAt(X509Certificate certificate, Instant at) {
    return !at.isBefore(certificate.getNotBefore().toInstant())
        && !at.isAfter(certificate.getNotAfter().toInstant());
  }

  /**
   * Whether the certificate's key may be used for the given key usage bit (RFC 5280 section
   * 4.2.1.3; e.g. 0, digitalSignature): always, when it has no key usage extension.
   */
  public static boolean allowsKeyUsage(X509Certificate certificate, int bit) {
    boolean[] keyUsage = certificate.getKeyUsage();
    return keyUsage == null || keyUsage.length > bit && keyUsage[bit];
  }

  /** {@link #allowsKeyUsage} digitalSignature: what a TLS peer's key does in every TLS 1.3 handshake. */
  public static boolean maySign(X509Certificate certificate) {
    return allowsKeyUsage(certificate, 0);
  }

  /** One line naming a certificate for logs and messages: subject, serial and expiry. */
  public static String describe(X509Certificate certificate) {
    return "'" + readableName(certificate.getSubjectX500Principal()) + "' serial "
        + serialHex(certificate) + " valid until " + certificate.getNotAfter().toInstant();
  }

  private static String sha256Hex(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
