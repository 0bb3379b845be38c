package org.estfleet.pki;

import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathBuilderResult;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * RFC 5280 path validation at a chosen instant, with explicit trust anchors: nothing from the
 * platform's default trust store is ever consulted. Revocation is not checked here.
 *
 * <p>The JDK's PKIX implementation judges every path: names, validity, extensions and the JDK's
 * algorithm constraints ({@code jdk.certpath.disabledAlgorithms}). Bouncy Castle verifies the
 * leaf's signature when it is ECDSA by a P-256, P-384 or P-521 key ({@link
 * EcdsaVerifiedCertificate}): a server sees each device's certificate for the first time at each
 * renewal, and SunEC's verification of it cost 2.4 ms on Java 17 (docs/BENCHMARKS.md).
 */
public final class CertificatePath {
  private CertificatePath() {}

  /**
   * Builds a path from {@code leaf} through any of {@code intermediates} to one of
   * {@code anchors}, valid at {@code at}, and returns it: the leaf first, then the CAs, ending
   * with the trust anchor's certificate. Unlike plain PKIX, the anchor itself must also be within
   * its validity period at {@code at}.
   *
   * @throws GeneralSecurityException with a message that names the leaf and why no valid path
   *     exists (unknown issuer, expired, not yet valid, bad signature)
   */
  public static List<X509Certificate> validate(
      X509Certificate leaf,
      Collection<X509Certificate> intermediates,
      Collection<X509Certificate> anchors,
      Instant at)
      throws GeneralSecurityException {
    return validate(leaf, intermediates, anchors, at, BouncyCastle.PROVIDER);
  }

  /** As {@link #validate(X509Certificate, Collection, Collection, Instant)}, {@code ecdsa} verifying the leaf. */
  static List<X509Certificate> validate(
      X509Certificate leaf,
      Collection<X509Certificate> intermediates,
      Collection<X509Certificate> anchors,
      Instant at,
      Provider ecdsa)
      throws GeneralSecurityException {
    if (anchors.isEmpty()) {
      throw new GeneralSecurityException("no trust anchors configured");
    }
    Set<TrustAnchor> trustAnchors = new HashSet<>();
    for (X509Certificate anchor : anchors) {
      trustAnchors.add(new TrustAnchor(anchor, null));
    }
    PKIXCertPathBuilderResult result;
    try {
      X509Certificate wrapped = EcdsaVerifiedCertificate.of(leaf, ecdsa);
      X509CertSelector target = new X509CertSelector();
      target.setCertificate(wrapped);
      PKIXBuilderParameters parameters = new PKIXBuilderParameters(trustAnchors, target);
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(at));
      List<X509Certificate> store = new ArrayList<>(intermediates);
      store.add(wrapped);
      parameters.addCertStore(
          CertStore.getInstance("Collection", new CollectionCertStoreParameters(store)));
      result = (PKIXCertPathBuilderResult) CertPathBuilder.getInstance("PKIX").build(parameters);
    } catch (CertPathBuilderException e) {
      throw new GeneralSecurityException(explain(leaf, anchors, at), e);
    } catch (InvalidAlgorithmParameterException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("PKIX is part of every Java platform", e);
    }
    X509Certificate anchor = result.getTrustAnchor().getTrustedCert();
    if (!Certificates.isValidAt(anchor, at)) {
      throw new GeneralSecurityException(
          "trust anchor " + Certificates.describe(anchor) + " is not valid at " + at);
    }
    List<X509Certificate> path = new ArrayList<>();
    result.getCertPath().getCertificates().forEach(c -> path.add(EcdsaVerifiedCertificate.unwrap((X509Certificate) c)));
    path.add(anchor);
    return List.copyOf(path);
  }

  /**
   * Why no path was found, in words an operator can act on. The JDK's own message ("unable to
   * find valid certification path") names neither the certificate nor the reason.
   */
  private static String explain(X509Certificate leaf, Collection<X509Certificate> anchors, Instant at) {
    if (at.isAfter(leaf.getNotAfter().toInstant())) {
      return "certificate " + Certificates.describe(leaf) + " has expired (now " + at + ")";
    }
    if (at.isBefore(leaf.getNotBefore().toInstant())) {
      return "certificate " + Certificates.describe(leaf) + " is not valid before "
          + leaf.getNotBefore().toInstant() + " (now " + at + "; check the clock)";
    }
    List<String> names = new ArrayList<>();
    anchors.forEach(a -> names.add("'" + a.getSubjectX500Principal().getName() + "'"));
    // The list of trusted roots last: it is what a shortened message loses.
    return "certificate " + Certificates.describe(leaf) + " issued by '"
        + leaf.getIssuerX500Principal().getName()
        + "' does not chain to a trusted root with valid signatures and validity periods at " + at
        + " (trusted: " + String.join(", ", names) + ")";
  }
}
