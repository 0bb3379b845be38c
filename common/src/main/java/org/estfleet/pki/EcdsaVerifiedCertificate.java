package org.estfleet.pki;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.security.NoSuchProviderException;
import java.security.Principal;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.util.Collection;
import java.util.Collections;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import javax.security.auth.x500.X500Principal;

/**
 * A certificate, as {@link CertificatePath} hands the leaf to the JDK's PKIX builder: everything
 * is the wrapped certificate's, except that an ECDSA signature by a P-256, P-384 or P-521 key is
 * verified with Bouncy Castle's provider instance, about 5 times cheaper than SunEC on Java 17
 * (docs/BENCHMARKS.md). The builder still judges the path: names, validity, extensions and the
 * JDK's algorithm constraints. Other signatures and curves are verified by the wrapped
 * certificate itself, with the provider the builder asks for, as without the wrapper.
 *
 * <p>The signature is checked over the bytes {@link X509Certificate#getTBSCertificate} returns:
 * for the JDK's certificate objects the bytes received. Bouncy Castle's provider is passed as an
 * instance and never registered with {@code java.security.Security}, so no lookup elsewhere in the
 * process changes. It is stricter than SunEC in one respect: it accepts only the DER encoding of
 * the signature value, where SunEC also reads an integer that lacks its leading zero byte as
 * positive; a certificate so encoded comes from a faulty CA and is rejected.
 */
final class EcdsaVerifiedCertificate extends X509Certificate {
  /** Signature algorithm names by OID: ecdsa-with-SHA1 (RFC 3279 2.2.3), SHA224 to SHA512 (RFC 5758 3.2). */
  private static final Map<String, String> ECDSA = Map.of(
      "1.2.840.10045.4.1", "SHA1withECDSA",
      "1.2.840.10045.4.3.1", "SHA224withECDSA",
      "1.2.840.10045.4.3.2", "SHA256withECDSA",
      "1.2.840.10045.4.3.3", "SHA384withECDSA",
      "1.2.840.10045.4.3.4", "SHA512withECDSA");

  /** The curves SunEC verifies on every supported Java release, and only those. */
  private static final List<ECParameterSpec> CURVES =
      List.of(curve("secp256r1"), curve("secp384r1"), curve("secp521r1"));

  /**
   * The certificates verified here, with the issuer key and provider that verified them, as the
   * JDK's certificate objects remember their own last verification: a client seen before costs no
   * signature. Keyed by certificate equality (the encoding) and held only as long as a
   * certificate object with that encoding is. Failures are not remembered.
   */
  private static final Map<X509Certificate, Verified> VERIFIED = Collections.synchronizedMap(new WeakHashMap<>());

  private record Verified(PublicKey key, Provider provider) {}

  private final X509Certificate certificate;
  private final Provider provider;

  /**
   * {@code certificate} with its ECDSA signature verified by {@code provider}, or {@code
   * certificate} itself if it is not signed with ECDSA, or its signature algorithm has parameters
   * (RFC 5758 3.2 says they are absent; the JDK judges any that are there).
   */
  static X509Certificate of(X509Certificate certificate, Provider provider) {
    return ECDSA.containsKey(certificate.getSigAlgOID()) && certificate.getSigAlgParams() == null
        ? new EcdsaVerifiedCertificate(certificate, provider) : certificate;
  }

  /** The certificate that {@code certificate} wraps, or {@code certificate} if it wraps none. */
  static X509Certificate unwrap(X509Certificate certificate) {
    return certificate instanceof EcdsaVerifiedCertificate wrapper ? wrapper.certificate : certificate;
  }

  private EcdsaVerifiedCertificate(X509Certificate certificate, Provider provider) {
    this.certificate = certificate;
    this.provider = provider;
  }

  @Override
  public void verify(PublicKey key, String sigProvider) throws CertificateException, NoSuchAlgorithmException,
      InvalidKeyException, NoSuchProviderException, SignatureException {
    if (!onSupportedCurve(key)) {
      certificate.verify(key, sigProvider);
      return;
    }
    Verified verified = VERIFIED.get(certificate);
    // The provider by identity: a Provider's equals compares all its entries.
    if (verified != null && verified.provider() == provider && verified.key().equals(key)) {
      return;
    }
    Signature verifier = Signature.getInstance(ECDSA.get(certificate.getSigAlgOID()), provider);
    verifier.initVerify(key);
    verifier.update(certificate.getTBSCertificate());
    if (!verifier.verify(certificate.getSignature())) {
      throw new SignatureException("Signature does not match.");
    }
    VERIFIED.put(certificate, new Verified(key, provider));
  }

  @Override
  public void verify(PublicKey key) throws CertificateException, NoSuchAlgorithmException, InvalidKeyException,
      NoSuchProviderException, SignatureException {
    verify(key, (String) null);
  }

  @Override
  public void verify(PublicKey key, Provider sigProvider) throws CertificateException, NoSuchAlgorithmException,
      InvalidKeyException, SignatureException {
    certificate.verify(key, sigProvider);
  }

  private static boolean onSupportedCurve(PublicKey key) {
    if (!(key instanceof ECPublicKey ec)) {
      return false;
    }
    ECParameterSpec params = ec.getParams();
    for (ECParameterSpec curve : CURVES) {
      if (curve.getCurve().equals(params.getCurve()) && curve.getGenerator().equals(params.getGenerator())
          && curve.getOrder().equals(params.getOrder()) && curve.getCofactor() == params.getCofactor()) {
        return true;
      }
    }
    return false;
  }

  private static ECParameterSpec curve(String name) {
    try {
      AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
      parameters.init(new ECGenParameterSpec(name));
      return parameters.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform has the curve " + name, e);
    }
  }

  // Everything else is the wrapped certificate's.

  @Override
  public void checkValidity() throws CertificateExpiredException, CertificateNotYetValidException {
    certificate.checkValidity();
  }

  @Override
  public void checkValidity(Date date) throws CertificateExpiredException, CertificateNotYetValidException {
    certificate.checkValidity(date);
  }

  @Override
  public int getVersion() {
    return certificate.getVersion();
  }

  @Override
  public BigInteger getSerialNumber() {
    return certificate.getSerialNumber();
  }

  @SuppressWarnings("deprecation")
  @Override
  public Principal getIssuerDN() {
    return certificate.getIssuerDN();
  }

  @Override
  public X500Principal getIssuerX500Principal() {
    return certificate.getIssuerX500Principal();
  }

  @SuppressWarnings("deprecation")
  @Override
  public Principal getSubjectDN() {
    return certificate.getSubjectDN();
  }

  @Override
  public X500Principal getSubjectX500Principal() {
    return certificate.getSubjectX500Principal();
  }

  @Override
  public Date getNotBefore() {
    return certificate.getNotBefore();
  }

  @Override
  public Date getNotAfter() {
    return certificate.getNotAfter();
  }

  @Override
  public byte[] getTBSCertificate() throws CertificateEncodingException {
    return certificate.getTBSCertificate();
  }

  @Override
  public byte[] getSignature() {
    return certificate.getSignature();
  }

  @Override
  public String getSigAlgName() {
    return certificate.getSigAlgName();
  }

  @Override
  public String getSigAlgOID() {
    return certificate.getSigAlgOID();
  }

  @Override
  public byte[] getSigAlgParams() {
    return certificate.getSigAlgParams();
  }

  @Override
  public boolean[] getIssuerUniqueID() {
    return certificate.getIssuerUniqueID();
  }

  @Override
  public boolean[] getSubjectUniqueID() {
    return certificate.getSubjectUniqueID();
  }

  @Override
  public boolean[] getKeyUsage() {
    return certificate.getKeyUsage();
  }

  @Override
  public List<String> getExtendedKeyUsage() throws CertificateParsingException {
    return certificate.getExtendedKeyUsage();
  }

  @Override
  public int getBasicConstraints() {
    return certificate.getBasicConstraints();
  }

  @Override
  public Collection<List<?>> getSubjectAlternativeNames() throws CertificateParsingException {
    return certificate.getSubjectAlternativeNames();
  }

  @Override
  public Collection<List<?>> getIssuerAlternativeNames() throws CertificateParsingException {
    return certificate.getIssuerAlternativeNames();
  }

  @Override
  public byte[] getEncoded() throws CertificateEncodingException {
    return certificate.getEncoded();
  }

  @Override
  public PublicKey getPublicKey() {
    return certificate.getPublicKey();
  }

  @Override
  public boolean hasUnsupportedCriticalExtension() {
    return certificate.hasUnsupportedCriticalExtension();
  }

  @Override
  public Set<String> getCriticalExtensionOIDs() {
    return certificate.getCriticalExtensionOIDs();
  }

  @Override
  public Set<String> getNonCriticalExtensionOIDs() {
    return certificate.getNonCriticalExtensionOIDs();
  }

  @Override
  public byte[] getExtensionValue(String oid) {
    return certificate.getExtensionValue(oid);
  }

  @Override
  public boolean equals(Object other) {
    return certificate.equals(other instanceof EcdsaVerifiedCertificate wrapper ? wrapper.certificate : other);
  }

  @Override
  public int hashCode() {
    return certificate.hashCode();
  }

  @Override
  public String toString() {
    return certificate.toString();
  }
}
