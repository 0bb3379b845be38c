package org.estfleet.pki;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;
import org.bouncycastle.operator.DefaultDigestAlgorithmIdentifierFinder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.bc.BcECContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A parsed PKCS#10 certification request (RFC 2986). Parsing checks only the structure and that
 * the public key is usable; {@link #isSignatureValid()} is the proof-of-possession check that
 * every caller must make before trusting anything else in it.
 */
public final class Csr {
  private static final DefaultAlgorithmNameFinder ALGORITHM_NAMES = new DefaultAlgorithmNameFinder();
  private static final Map<ASN1ObjectIdentifier, String> EXTENSION_NAMES = Map.of(
      Extension.subjectAlternativeName, "subjectAltName", Extension.keyUsage, "keyUsage",
      Extension.extendedKeyUsage, "extendedKeyUsage", Extension.basicConstraints, "basicConstraints");
  /**
   * EC proof-of-possession is checked with Bouncy Castle's own EC classes rather than through its
   * JCA provider: the provider converts the key's curve parameters on every verification and so
   * cannot reuse its precomputed multiples of the generator, which made a P-256 check cost about
   * 1.8 times as much (docs/BENCHMARKS.md).
   */
  private static final BcECContentVerifierProviderBuilder EC_VERIFIERS =
      new BcECContentVerifierProviderBuilder(new DefaultDigestAlgorithmIdentifierFinder());
  private static final Set<ASN1ObjectIdentifier> ECDSA_SIGNATURES = Set.of(
      X9ObjectIdentifiers.ecdsa_with_SHA224, X9ObjectIdentifiers.ecdsa_with_SHA256,
      X9ObjectIdentifiers.ecdsa_with_SHA384, X9ObjectIdentifiers.ecdsa_with_SHA512,
      NISTObjectIdentifiers.id_ecdsa_with_sha3_224, NISTObjectIdentifiers.id_ecdsa_with_sha3_256,
      NISTObjectIdentifiers.id_ecdsa_with_sha3_384, NISTObjectIdentifiers.id_ecdsa_with_sha3_512);

  private final byte[] der;
  private final PKCS10CertificationRequest request;
  private final PublicKey publicKey;
  /** The extensionRequest's extensions, checked when parsed; null if none were requested. */
  private final Extensions requested;

  private Csr(byte[] der, PKCS10CertificationRequest request, PublicKey publicKey, Extensions requested) {
    this.der = der;
    this.request = request;
    this.publicKey = publicKey;
    this.requested = requested;
  }

  /**
   * Parses a DER PKCS#10 request.
   *
   * @throws IllegalArgumentException if the bytes are not a CSR or its key cannot be read
   */
  public static Csr fromDer(byte[] der) {
    byte[] copy = der.clone();
    PKCS10CertificationRequest request;
    try {
      request = new PKCS10CertificationRequest(copy);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("body is not a DER PKCS#10 certification request", e);
    }
    Extensions requested;
    try {
      requested = checkStructure(request);
    } catch (Refused refused) {
      throw refused;
    } catch (RuntimeException e) {
      // Bouncy Castle parses parts lazily, failing on them as it meets them, with its own words.
      throw new IllegalArgumentException("CSR is malformed: a part of it is not the ASN.1 structure PKCS#10 "
          + "(RFC 2986) defines", e);
    }
    PublicKey key;
    try {
      key = new JcaPKCS10CertificationRequest(request).setProvider(BouncyCastle.PROVIDER).getPublicKey();
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException(
          "the CSR's public key (algorithm "
              + request.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm()
              + ") cannot be read",
          e);
    }
    return new Csr(copy, request, key, requested);
  }

  /**
   * Refuses what Bouncy Castle parses lazily and would fail on later (a malformed subject,
   * string value, extensionRequest, subjectAltName or challengePassword), each with a reason for
   * the client.
   *
   * @return the extensions requested; null if none
   */
  private static Extensions checkStructure(PKCS10CertificationRequest request) {
    ASN1Integer version = request.toASN1Structure().getCertificationRequestInfo().getVersion();
    if (!version.hasValue(0)) {
      throw new Refused("CSR version " + version.getValue() + " is not v1 (encoded 0), the only "
          + "PKCS#10 version (RFC 2986)");
    }
    X500Name subject;
    try {
      subject = request.getSubject();
    } catch (RuntimeException e) {
      throw new Refused("CSR subject is malformed (not a sequence of RDNs of type and value)", e);
    }
    for (RDN rdn : subject.getRDNs()) {
      checkRdn(rdn);
    }
    Attribute[] attributes;
    try {
      attributes = request.getAttributes();
    } catch (RuntimeException e) {
      throw new Refused("CSR attributes are malformed (not a set of type and values)", e);
    }
    int extensionRequests = 0;
    int challengePasswords = 0;
    Extensions requested = null;
    for (Attribute attribute : attributes) {
      if (attribute.getAttrType().equals(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
        if (++extensionRequests > 1) {
          throw new Refused("CSR has more than one extensionRequest attribute; request every "
              + "extension in one");
        }
        requested = checkExtensionRequest(attribute.getAttributeValues());
      } else if (attribute.getAttrType().equals(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
        if (++challengePasswords > 1) {
          throw new Refused("CSR has more than one challengePassword attribute");
        }
        checkChallengePassword(attribute.getAttributeValues());
      }
    }
    return requested;
  }

  /**
   * Each string value of the subject decodes. Which RDNs a new certificate may carry (not empty,
   * single-valued, strings) is the CA's policy for first enrollments: a certificate issued with
   * other ones (by another CA, or by an earlier release) must still renew with its subject.
   */
  private static void checkRdn(RDN rdn) {
    for (AttributeTypeAndValue attribute : rdn.getTypesAndValues()) {
      checkDecodes(attribute.getValue(), "CSR subject attribute " + attributeName(attribute.getType()));
    }
  }

  /** An attribute type's short name (CN, O), or its OID. */
  public static String attributeName(ASN1ObjectIdentifier type) {
    String name = BCStyle.INSTANCE.oidToDisplayName(type);
    return name == null ? type.getId() : name;
  }

  /** The challengePassword's value (one: Bouncy Castle refuses more), decodable if a string. */
  private static void checkChallengePassword(ASN1Encodable[] values) {
    if (values.length == 1) {
      checkDecodes(values[0], "CSR's challengePassword");
    }
  }

  /** A string value's text decodes (a UTF8String of invalid bytes does not); other values pass. */
  private static void checkDecodes(ASN1Encodable value, String what) {
    if (value instanceof ASN1String string) {
      try {
        string.getString();
      } catch (RuntimeException e) {
        throw new Refused(what + " is not a valid " + value.getClass().getSimpleName().replaceFirst("^(DER|DL|ASN1)", ""),
            e);
      }
    }
  }

  /**
   * The extensionRequest's one value: extensions, the known ones well formed.
   *
   * @return the extensions; null for an empty list, which requests nothing
   */
  private static Extensions checkExtensionRequest(ASN1Encodable[] values) {
    if (values.length != 1) {
      throw new Refused("CSR's extensionRequest attribute holds " + values.length
          + " values; it must hold one, the list of extensions");
    }
    if (values[0] instanceof ASN1Sequence sequence && sequence.size() == 0) {
      return null;
    }
    Extensions extensions;
    try {
      extensions = Extensions.getInstance(values[0]);
    } catch (RuntimeException e) {
      throw new Refused("CSR's extensionRequest is malformed: not a list of extensions, each an "
          + "OID and a value, every OID once", e);
    }
    for (ASN1ObjectIdentifier oid : extensions.getExtensionOIDs()) {
      Extension extension = extensions.getExtension(oid);
      String name = EXTENSION_NAMES.get(oid);
      try {
        if (Extension.subjectAlternativeName.equals(oid)) {
          for (GeneralName generalName : GeneralNames.getInstance(extension.getParsedValue()).getNames()) {
            generalName.getName();
          }
        } else if (Extension.keyUsage.equals(oid)) {
          KeyUsage.getInstance(extension.getParsedValue());
        } else if (Extension.extendedKeyUsage.equals(oid)) {
          ExtendedKeyUsage.getInstance(extension.getParsedValue()).getUsages();
        } else if (Extension.basicConstraints.equals(oid)) {
          BasicConstraints.getInstance(extension.getParsedValue());
        }
      } catch (RuntimeException e) {
        throw new Refused("CSR requests a malformed " + name + " extension (its value is not the "
            + "ASN.1 structure RFC 5280 defines for it)", e);
      }
    }
    return extensions;
  }

  /** A CSR refused by {@link #checkStructure}, with its reason. */
  private static final class Refused extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }

    Refused(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The DER encoding, as received. */
  public byte[] der() {
    return der.clone();
  }

  public X500Name subject() {
    return request.getSubject();
  }

  /** The subject's single CN, if it has exactly one. */
  public Optional<String> commonName() {
    return Certificates.commonName(request.getSubject());
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** The public key's algorithm identifier as the CSR carries it (for EC: its curve, named or not). */
  public org.bouncycastle.asn1.x509.AlgorithmIdentifier publicKeyAlgorithm() {
    return request.getSubjectPublicKeyInfo().getAlgorithm();
  }

  /** The signature algorithm with its parameters (for RSASSA-PSS: its hash and mask generation). */
  public org.bouncycastle.asn1.x509.AlgorithmIdentifier signatureAlgorithmIdentifier() {
    return request.getSignatureAlgorithm();
  }

  /** The signature algorithm's OID. */
  public ASN1ObjectIdentifier signatureAlgorithm() {
    return request.getSignatureAlgorithm().getAlgorithm();
  }

  /** The signature algorithm's name, e.g. {@code SHA256WITHECDSA}, or its OID if unknown. */
  public String signatureAlgorithmName() {
    return ALGORITHM_NAMES.getAlgorithmName(request.getSignatureAlgorithm());
  }

  /**
   * Whether the CSR's signature verifies under its own public key: the proof that the requester
   * holds the private key (RFC 7030 section 3.4). False also for unsupported algorithms.
   */
  public boolean isSignatureValid() {
    try {
      // Only for an ECDSA signature on an EC key: Bouncy Castle's lightweight builder reads
      // nothing but the digest from the algorithm, so a CSR labelled with another algorithm
      // (RSASSA-PSS over SHA-1, say) goes the JCA way, which refuses the mismatch.
      ContentVerifierProvider verifier = X9ObjectIdentifiers.id_ecPublicKey.equals(
              request.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm())
              && ECDSA_SIGNATURES.contains(request.getSignatureAlgorithm().getAlgorithm())
          ? EC_VERIFIERS.build(PublicKeyFactory.createKey(request.getSubjectPublicKeyInfo()))
          : new JcaContentVerifierProviderBuilder().setProvider(BouncyCastle.PROVIDER).build(publicKey);
      return request.isSignatureValid(verifier);
    } catch (IOException | PKCSException | OperatorCreationException | RuntimeException e) {
      return false;
    }
  }

  /** The extensions requested in the PKCS#9 extensionRequest attribute, if any. */
  public Optional<Extensions> requestedExtensions() {
    return Optional.ofNullable(requested);
  }

  /** The requested subject alternative names; empty if none were requested. */
  public List<GeneralName> subjectAltNames() {
    return requestedExtensions()
        .map(extensions -> GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName))
        .map(names -> List.of(names.getNames()))
        .orElse(List.of());
  }

  /**
   * The challengePassword attribute (PKCS#9), which carries the TLS channel binding when
   * proof-of-possession is linked to the TLS session (RFC 7030 section 3.5).
   */
  public Optional<String> challengePassword() {
    for (Attribute attribute : request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
      ASN1Encodable[] values = attribute.getAttributeValues();
      if (values.length == 1 && values[0] instanceof ASN1String string) {
        return Optional.of(string.getString());
      }
    }
    return Optional.empty();
  }

  /**
   * Whether {@code other} asks for the same thing: the same subject, key and attributes, apart
   * from the challengePassword (which a client linking its CSR to each TLS connection changes on
   * every attempt).
   */
  public boolean sameRequestAs(Csr other) {
    return request.getSubject().toASN1Primitive().equals(other.request.getSubject().toASN1Primitive())
        && request.getSubjectPublicKeyInfo().equals(other.request.getSubjectPublicKeyInfo())
        && attributesButChallengePassword().equals(other.attributesButChallengePassword());
  }

  private List<Attribute> attributesButChallengePassword() {
    List<Attribute> attributes = new ArrayList<>();
    for (Attribute attribute : request.getAttributes()) {
      if (!attribute.getAttrType().equals(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
        attributes.add(attribute);
      }
    }
    return attributes;
  }

  /**
   * A builder of this request without its challengePassword: what a client linking its CSR to a
   * TLS connection completes and signs once the connection is up.
   */
  public PKCS10CertificationRequestBuilder builderWithoutChallengePassword() {
    PKCS10CertificationRequestBuilder builder =
        new PKCS10CertificationRequestBuilder(request.getSubject(), request.getSubjectPublicKeyInfo());
    for (Attribute attribute : attributesButChallengePassword()) {
      builder.addAttribute(attribute.getAttrType(), attribute.getAttributeValues());
    }
    return builder;
  }

  /**
   * This request's subject and attributes (its challengePassword and requested extensions among
   * them) for another key, signed by it: what a server that generates the key certifies
   * ({@code /serverkeygen}, RFC 7030 section 4.4.1, where the requester's own key and signature
   * are ignored).
   */
  public Csr withKey(KeyPair keys) {
    PKCS10CertificationRequestBuilder builder = new PKCS10CertificationRequestBuilder(request.getSubject(),
        SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()));
    for (Attribute attribute : request.getAttributes()) {
      builder.addAttribute(attribute.getAttrType(), attribute.getAttributeValues());
    }
    try {
      return fromDer(builder.build(CsrBuilder.signer(keys.getPrivate(), keys.getPublic())).getEncoded());
    } catch (IOException e) {
      throw new IllegalStateException("cannot sign a request with a new " + KeyAlgorithm.describe(keys.getPublic())
          + " key: " + e.getMessage(), e);
    }
  }

  /** The types of all attributes in the request, in order. */
  public List<ASN1ObjectIdentifier> attributeTypes() {
    List<ASN1ObjectIdentifier> types = new ArrayList<>();
    for (Attribute attribute : request.getAttributes()) {
      types.add(attribute.getAttrType());
    }
    return types;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Csr csr && Arrays.equals(der, csr.der);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(der);
  }

  @Override
  public String toString() {
    return "Csr[" + request.getSubject() + ", " + KeyAlgorithm.describe(publicKey) + "]";
  }
}
