package org.estfleet.pki;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
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

  private Csr(byte[] der, PKCS10CertificationRequest request, PublicKey publicKey) {
    this.der = der;
    this.request = request;
    this.publicKey = publicKey;
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
    return new Csr(copy, request, key);
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
    return Optional.ofNullable(request.getRequestedExtensions());
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
