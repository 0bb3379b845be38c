package org.estfleet.server.enroll;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X962Parameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.config.ProfileConfig.SanType;
import org.estfleet.server.config.SanPattern;

/**
 * What a CSR must look like to be signed: a strong key, a strong signature that verifies
 * (proof-of-possession), one CN, and only the subjectAltName types the profile allows.
 * Malformed or weak CSRs are 400 (fix the CSR); asking for what the profile forbids is 403.
 *
 * <p>Of the extensions a CSR requests, only subjectAltName reaches the certificate; key usage and
 * extended key usage come from the profile. A request for more than the profile issues is refused
 * (403) rather than silently granted less: a CA certificate, key usage bits or extended key usages
 * the profile lacks, or any other extension marked critical. Other non-critical requests are
 * ignored.
 */
public final class CsrPolicy {
  private static final int MIN_RSA_BITS = 2048;
  private static final int MAX_RSA_BITS = 8192;

  /** Signature algorithms accepted on CSRs: SHA-2 family, PSS and EdDSA; never MD5 or SHA-1. */
  private static final Set<ASN1ObjectIdentifier> SIGNATURE_ALGORITHMS = Set.of(
      X9ObjectIdentifiers.ecdsa_with_SHA256,
      X9ObjectIdentifiers.ecdsa_with_SHA384,
      X9ObjectIdentifiers.ecdsa_with_SHA512,
      PKCSObjectIdentifiers.sha256WithRSAEncryption,
      PKCSObjectIdentifiers.sha384WithRSAEncryption,
      PKCSObjectIdentifiers.sha512WithRSAEncryption,
      PKCSObjectIdentifiers.id_RSASSA_PSS,
      EdECObjectIdentifiers.id_Ed25519,
      NISTObjectIdentifiers.id_ecdsa_with_sha3_256,
      NISTObjectIdentifiers.id_ecdsa_with_sha3_384,
      NISTObjectIdentifiers.id_ecdsa_with_sha3_512,
      NISTObjectIdentifiers.id_rsassa_pkcs1_v1_5_with_sha3_256,
      NISTObjectIdentifiers.id_rsassa_pkcs1_v1_5_with_sha3_384,
      NISTObjectIdentifiers.id_rsassa_pkcs1_v1_5_with_sha3_512);

  /** The hashes an RSASSA-PSS signature and its MGF1 may use: SHA-256 or stronger. */
  private static final Set<ASN1ObjectIdentifier> PSS_HASHES = Set.of(NISTObjectIdentifiers.id_sha256,
      NISTObjectIdentifiers.id_sha384, NISTObjectIdentifiers.id_sha512, NISTObjectIdentifiers.id_sha3_256,
      NISTObjectIdentifiers.id_sha3_384, NISTObjectIdentifiers.id_sha3_512);

  /** The NIST curves accepted for EC keys: P-256, P-384, P-521. */
  private static final Set<ASN1ObjectIdentifier> NAMED_CURVES = Set.of(
      SECObjectIdentifiers.secp256r1, SECObjectIdentifiers.secp384r1, SECObjectIdentifiers.secp521r1);


  private static final Map<Integer, SanType> SAN_TYPES = Map.of(
      GeneralName.dNSName, SanType.DNS,
      GeneralName.iPAddress, SanType.IP,
      GeneralName.uniformResourceIdentifier, SanType.URI,
      GeneralName.rfc822Name, SanType.EMAIL);

  /** Requested extensions understood here (the rest may only be requested non-critical). */
  private static final Set<ASN1ObjectIdentifier> KNOWN_EXTENSIONS = Set.of(
      Extension.subjectAlternativeName, Extension.keyUsage, Extension.extendedKeyUsage, Extension.basicConstraints,
      Extension.subjectKeyIdentifier);

  private static final Map<Integer, String> KEY_USAGE_NAMES = Map.of(
      KeyUsage.digitalSignature, "digitalSignature", KeyUsage.nonRepudiation, "nonRepudiation",
      KeyUsage.keyEncipherment, "keyEncipherment", KeyUsage.dataEncipherment, "dataEncipherment",
      KeyUsage.keyAgreement, "keyAgreement", KeyUsage.keyCertSign, "keyCertSign", KeyUsage.cRLSign, "cRLSign",
      KeyUsage.encipherOnly, "encipherOnly", KeyUsage.decipherOnly, "decipherOnly");

  private final Set<SanType> allowedSanTypes;
  private final Integer keyUsage;
  private final Set<KeyPurposeId> extendedKeyUsages;
  /** Subject attributes besides the CN a first enrollment may carry; null: any (a gateway's). */
  private final Set<ASN1ObjectIdentifier> subjectAttributes;
  /** The subjectAltName values a first enrollment may have certified; empty: any of the allowed types. */
  private final List<SanPattern> sanValues;

  /** A policy that leaves key usage, extended key usage and subject attributes to the CA (a gateway's). */
  public CsrPolicy(List<SanType> allowedSanTypes) {
    this(allowedSanTypes, null, null, null);
  }

  /**
   * @param keyUsage the key usage bits the profile issues, or null to accept any request
   * @param extendedKeyUsages the extended key usages the profile issues, or null to accept any request
   */
  public CsrPolicy(List<SanType> allowedSanTypes, Integer keyUsage, List<KeyPurposeId> extendedKeyUsages) {
    this(allowedSanTypes, keyUsage, extendedKeyUsages, List.of());
  }

  /**
   * @param subjectAttributes the X.500 short names of the subject attributes besides the CN a first
   *     enrollment's CSR may carry, or null to accept any
   */
  public CsrPolicy(List<SanType> allowedSanTypes, Integer keyUsage, List<KeyPurposeId> extendedKeyUsages,
      List<String> subjectAttributes) {
    this(allowedSanTypes, keyUsage, extendedKeyUsages, subjectAttributes, List.of());
  }

  /**
   * @param sanValues the subjectAltName values a first enrollment may have certified, the
   *     device's identity standing for {@code {id}}; empty for any value of the allowed types
   */
  public CsrPolicy(List<SanType> allowedSanTypes, Integer keyUsage, List<KeyPurposeId> extendedKeyUsages,
      List<String> subjectAttributes, List<SanPattern> sanValues) {
    this.sanValues = List.copyOf(sanValues);
    this.allowedSanTypes = allowedSanTypes.isEmpty() ? Set.of() : EnumSet.copyOf(allowedSanTypes);
    this.keyUsage = keyUsage;
    this.extendedKeyUsages = extendedKeyUsages == null ? null : Set.copyOf(extendedKeyUsages);
    this.subjectAttributes = subjectAttributes == null ? null
        : subjectAttributes.stream().map(BCStyle.INSTANCE::attrNameToOID).collect(java.util.stream.Collectors.toSet());
  }

  /**
   * The checks of names a certificate has not carried before, for a first enrollment: each
   * subjectAltName well formed for its type (400), and no subject attribute besides the CN that the
   * profile does not list (403: the certificate would vouch for it). Not applied to
   * re-enrollment, whose names must repeat the certificate's (RFC 7030 section 4.2.2), whatever
   * rules it was issued under: a device whose certificate an older policy allowed still renews.
   */
  public void checkNewNames(Csr csr) throws EstException {
    for (RDN rdn : csr.subject().getRDNs()) {
      if (rdn.size() == 0) {
        throw EstException.badRequest("CSR subject has an empty RDN (a SET without attribute)");
      }
      if (rdn.isMultiValued()) {
        throw EstException.badRequest("CSR subject has a multi-valued RDN (" + new X500Name(new RDN[] {rdn})
            + "); put each attribute in an RDN of its own");
      }
      if (!Certificates.isDirectoryText(rdn.getFirst().getValue())) {
        throw EstException.badRequest("CSR subject attribute " + Csr.attributeName(rdn.getFirst().getType())
            + " is not a text string; use a UTF8String (or a PrintableString)");
      }
    }
    for (GeneralName name : csr.subjectAltNames()) {
      SanType type = SAN_TYPES.get(name.getTagNo());
      if (type != null) {
        checkSyntax(name, type);
        checkValue(name, type, csr.commonName().orElse(""));
      }
    }
    if (subjectAttributes == null) {
      return;
    }
    List<String> beyond = new ArrayList<>();
    for (RDN rdn : csr.subject().getRDNs()) {
      for (org.bouncycastle.asn1.x500.AttributeTypeAndValue attribute : rdn.getTypesAndValues()) {
        if (!attribute.getType().equals(BCStyle.CN) && !subjectAttributes.contains(attribute.getType())) {
          String name = BCStyle.INSTANCE.oidToDisplayName(attribute.getType());
          beyond.add((name == null ? attribute.getType().getId() : name) + "="
              + org.bouncycastle.asn1.x500.style.IETFUtils.valueToString(attribute.getValue()));
        }
      }
    }
    if (!beyond.isEmpty()) {
      throw EstException.forbidden("CSR subject carries " + String.join(", ", beyond) + " besides the CN; this "
          + "profile issues " + (subjectAttributes.isEmpty() ? "the CN alone" : "the CN with "
              + subjectAttributes.stream().map(BCStyle.INSTANCE::oidToDisplayName).sorted().toList())
          + " (profile subjectAttributes lists what a CSR may add)");
    }
  }

  /**
   * Checks a parsed CSR.
   *
   * @throws EstException 400 or 403 naming what is wrong and how to fix it
   */
  public void check(Csr csr) throws EstException {
    if (!SIGNATURE_ALGORITHMS.contains(csr.signatureAlgorithm())) {
      throw EstException.badRequest("CSR signature algorithm " + csr.signatureAlgorithmName()
          + " is not accepted; sign with SHA-256 or stronger (ECDSA, RSA, RSASSA-PSS) or Ed25519");
    }
    if (csr.signatureAlgorithm().equals(PKCSObjectIdentifiers.id_RSASSA_PSS)) {
      checkPssHashes(csr);
    }
    checkKey(csr);
    if (keyUsage != null && keyUsage != 0 && CertificateProfile.usableBy(keyUsage, csr.publicKeyAlgorithm()) == 0) {
      throw EstException.forbidden("this profile issues key usage " + keyUsageNames(keyUsage) + " only, which a "
          + KeyAlgorithm.describe(csr.publicKey()) + " key cannot carry (keyEncipherment: RSA keys (rsaEncryption); "
          + "keyAgreement: EC keys)");
    }
    if (!csr.isSignatureValid()) {
      throw EstException.badRequest(
          "CSR signature does not verify with its public key (proof-of-possession failed)");
    }
    checkContent(csr);
  }

  /**
   * The checks of {@link #check} that do not look at the CSR's key or signature: one CN, the
   * subjectAltName types, the extensions requested. What a {@code /serverkeygen} request, whose
   * key and signature are ignored (RFC 7030 section 4.4.1), must pass before a key is made for it.
   *
   * @throws EstException 400 or 403 naming what is wrong and how to fix it
   */
  public void checkContent(Csr csr) throws EstException {
    RDN[] commonNames = csr.subject().getRDNs(BCStyle.CN);
    if (commonNames.length == 1 && commonNames[0].isMultiValued()) {
      throw EstException.badRequest("CSR subject's CN is in a multi-valued RDN (" + new X500Name(commonNames)
          + "); put the CN in an RDN of its own");
    }
    if (commonNames.length != 1 || csr.commonName().isEmpty()) {
      throw EstException.badRequest("CSR subject '" + csr.subject()
          + "' must have exactly one CN, the device id");
    }
    for (GeneralName name : csr.subjectAltNames()) {
      SanType type = SAN_TYPES.get(name.getTagNo());
      if (type == null || !allowedSanTypes.contains(type)) {
        throw EstException.forbidden("subjectAltName " + describe(name)
            + " is not allowed by this profile (allowed types: " + allowedSanTypes + ")");
      }
    }
    Extensions requested = csr.requestedExtensions().orElse(null);
    if (requested != null) {
      checkRequestedExtensions(requested);
    }
  }

  /**
   * RSASSA-PSS names its hash in its parameters, SHA-1 when they are left out (RFC 4055 section
   * 3.1): the hash and the mask generation's must be SHA-256 or stronger too.
   */
  private static void checkPssHashes(Csr csr) throws EstException {
    ASN1ObjectIdentifier hash;
    AlgorithmIdentifier mask;
    ASN1ObjectIdentifier maskHash;
    try {
      RSASSAPSSparams parameters = RSASSAPSSparams.getInstance(csr.signatureAlgorithmIdentifier().getParameters());
      if (parameters == null) {
        parameters = new RSASSAPSSparams();
      }
      hash = parameters.getHashAlgorithm().getAlgorithm();
      mask = parameters.getMaskGenAlgorithm();
      AlgorithmIdentifier maskParameters = mask.getAlgorithm().equals(PKCSObjectIdentifiers.id_mgf1)
          ? AlgorithmIdentifier.getInstance(mask.getParameters()) : null;
      maskHash = maskParameters == null ? null : maskParameters.getAlgorithm();
    } catch (RuntimeException e) {
      // Bouncy Castle reads these parameters with casts: any shape but the right one fails in its own way.
      throw EstException.badRequest("the CSR's RSASSA-PSS parameters are malformed", e);
    }
    if (!PSS_HASHES.contains(hash) || maskHash == null || !PSS_HASHES.contains(maskHash)) {
      throw EstException.badRequest("CSR signature RSASSA-PSS with hash " + hash.getId() + " and mask generation "
          + (maskHash == null ? mask.getAlgorithm().getId() : "MGF1 with " + maskHash.getId())
          + " is not accepted; sign with SHA-256 or stronger for both");
    }
  }

  private static String keyUsageNames(int bits) {
    List<String> names = new ArrayList<>();
    for (Map.Entry<Integer, String> bit : new java.util.TreeMap<>(KEY_USAGE_NAMES).entrySet()) {
      if ((bits & bit.getKey()) != 0) {
        names.add(bit.getValue());
      }
    }
    return String.join(", ", names);
  }

  private void checkRequestedExtensions(Extensions requested) throws EstException {
    BasicConstraints constraints;
    KeyUsage usage;
    ExtendedKeyUsage extended;
    try {
      constraints = BasicConstraints.fromExtensions(requested);
      usage = KeyUsage.fromExtensions(requested);
      extended = ExtendedKeyUsage.fromExtensions(requested);
    } catch (IllegalArgumentException e) {
      throw EstException.badRequest("CSR requests a malformed extension: " + e.getMessage(), e);
    }
    if (constraints != null && constraints.isCA()) {
      throw EstException.forbidden("CSR requests a CA certificate (basicConstraints cA=TRUE); "
          + "this server issues end-entity certificates only");
    }
    if (usage != null && keyUsage != null) {
      List<String> beyond = new ArrayList<>();
      for (Map.Entry<Integer, String> bit : new java.util.TreeMap<>(KEY_USAGE_NAMES).entrySet()) {
        if (usage.hasUsages(bit.getKey()) && (keyUsage & bit.getKey()) == 0) {
          beyond.add(bit.getValue());
        }
      }
      if (!beyond.isEmpty()) {
        throw EstException.forbidden("CSR requests key usage " + String.join(", ", beyond)
            + ", which this profile does not issue (it issues: " + keyUsageNames(keyUsage) + ")");
      }
    }
    if (extended != null && extendedKeyUsages != null) {
      for (KeyPurposeId purpose : extended.getUsages()) {
        if (!extendedKeyUsages.contains(purpose)) {
          throw EstException.forbidden("CSR requests extended key usage " + purpose.getId()
              + ", which this profile does not issue (it issues: "
              + extendedKeyUsages.stream().map(KeyPurposeId::getId).sorted().toList() + ")");
        }
      }
    }
    for (ASN1ObjectIdentifier oid : requested.getExtensionOIDs()) {
      if (!KNOWN_EXTENSIONS.contains(oid) && requested.getExtension(oid).isCritical()) {
        throw EstException.forbidden("CSR requests extension " + oid.getId()
            + " as critical; this profile does not issue it (request it non-critical, or not at all)");
      }
    }
  }

  private static void checkKey(Csr csr) throws EstException {
    PublicKey key = csr.publicKey();
    if (key instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
        throw EstException.badRequest("RSA key of " + bits + " bits is not accepted; use "
            + MIN_RSA_BITS + " to " + MAX_RSA_BITS + " bits, or EC P-256");
      }
    } else if (key instanceof ECPublicKey) {
      // By the curve's name, as the CSR carries it: explicit parameters (which the JDK cannot
      // read back from a certificate) or another curve of the same size (secp256k1,
      // brainpoolP256r1) are not the NIST curves every relying party supports.
      ASN1Encodable parameters = csr.publicKeyAlgorithm().getParameters();
      X962Parameters curve;
      try {
        curve = parameters == null ? null : X962Parameters.getInstance(parameters);
      } catch (IllegalArgumentException e) {
        throw EstException.badRequest("the CSR's EC key parameters are malformed: " + e.getMessage(), e);
      }
      if (curve == null || !curve.isNamedCurve()) {
        throw EstException.badRequest("EC key without a named curve (" + (curve == null ? "no" : "explicit")
            + " parameters) is not accepted; use the named curve P-256, P-384 or P-521");
      }
      ASN1ObjectIdentifier oid = ASN1ObjectIdentifier.getInstance(curve.getParameters());
      if (!NAMED_CURVES.contains(oid)) {
        String name = ECNamedCurveTable.getName(oid);
        throw EstException.badRequest("EC key on curve " + (name == null ? oid.getId() : name)
            + " is not accepted; use P-256, P-384 or P-521");
      }
    } else if (!key.getAlgorithm().equals("Ed25519") && !key.getAlgorithm().equals("EdDSA")) {
      throw EstException.badRequest("key algorithm " + KeyAlgorithm.describe(key)
          + " is not accepted; use EC P-256, RSA 2048+ or Ed25519");
    }
  }

  /**
   * Refuses (400) a subjectAltName that is not what its type says: a DNS name outside the
   * preferred name syntax (RFC 1034 3.5, RFC 5280 4.2.1.6: no wildcards, no spaces or control
   * characters), a URI that is not absolute, an email address that is not local@domain, an IP
   * address that is not 4 or 16 octets.
   */
  private static void checkSyntax(GeneralName name, SanType type) throws EstException {
    boolean valid;
    if (type == SanType.IP) {
      int length = ASN1OctetString.getInstance(name.getName()).getOctets().length;
      valid = length == 4 || length == 16;
    } else {
      String value;
      try {
        value = DERIA5String.getInstance(name.getName()).getString();
      } catch (IllegalArgumentException e) {
        throw EstException.badRequest("subjectAltName of type " + type.name().toLowerCase(Locale.ROOT)
            + " is not an IA5String", e);
      }
      valid = SanPattern.wellFormed(type, value);
    }
    if (!valid) {
      throw EstException.badRequest("subjectAltName " + describe(name) + " is not " + SanPattern.expected(type));
    }
  }

  /**
   * Refuses (403) a subjectAltName that none of the profile's {@code sanValues} allows for this
   * device: without them a device could have any host name, address or URI certified, another
   * device's included.
   */
  private void checkValue(GeneralName name, SanType type, String identity) throws EstException {
    if (sanValues.isEmpty()) {
      return;
    }
    for (SanPattern pattern : sanValues) {
      if (pattern.type() == type && (type == SanType.IP
          ? pattern.contains(ASN1OctetString.getInstance(name.getName()).getOctets())
          : pattern.matches(DERIA5String.getInstance(name.getName()).getString(), identity))) {
        return;
      }
    }
    throw EstException.forbidden("subjectAltName " + describe(name) + " is not one this profile certifies for '"
        + identity + "' (sanValues: " + String.join(", ", sanValues.stream().map(SanPattern::toString).toList())
        + ")");
  }

  private static String describe(GeneralName name) {
    SanType type = SAN_TYPES.get(name.getTagNo());
    String value = name.getName().toString();
    if (type == SanType.IP) {
      try {
        value = InetAddress.getByAddress(ASN1OctetString.getInstance(name.getName()).getOctets()).getHostAddress();
      } catch (UnknownHostException | IllegalArgumentException e) {
        // keep the hex form: the octets are not an address
      }
    }
    return (type == null ? "type " + name.getTagNo() : type.name().toLowerCase(Locale.ROOT)) + ":" + value;
  }
}
