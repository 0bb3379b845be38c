package org.estfleet.est;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSAbsentContent;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.util.Store;
import org.estfleet.pki.Certificates;

/**
 * The "certs-only" CMC Simple PKI Response (RFC 5272 section 4.1): a CMS SignedData with no
 * content and no signers, carrying certificates. EST uses it for {@code /cacerts} and for the
 * certificate issued by {@code /simpleenroll} (RFC 7030 sections 4.1.3 and 4.2.3).
 */
public final class CertsOnly {
  private CertsOnly() {}

  /**
   * The DER encoding of a certs-only response holding the certificates. The certificates form a
   * SET, so a reader sees them in DER order, not in the order given.
   */
  public static byte[] encode(List<X509Certificate> certificates) {
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException("a certs-only response needs at least one certificate");
    }
    try {
      CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
      generator.addCertificates(new JcaCertStore(certificates));
      return generator.generate(new CMSAbsentContent(), false).getEncoded(ASN1Encoding.DER);
    } catch (CMSException | CertificateEncodingException | IOException e) {
      throw new IllegalStateException("cannot encode certs-only response: " + e.getMessage(), e);
    }
  }

  /**
   * The certificates of a DER certs-only response.
   *
   * @throws IllegalArgumentException if the bytes are not a CMS SignedData or hold no certificate
   */
  public static List<X509Certificate> decode(byte[] der) {
    Collection<X509CertificateHolder> holders;
    try {
      Store<X509CertificateHolder> store = new CMSSignedData(der).getCertificates();
      holders = store.getMatches(null);
    } catch (CMSException | RuntimeException e) {
      throw new IllegalArgumentException("not a CMS certs-only response: " + e.getMessage(), e);
    }
    if (holders.isEmpty()) {
      throw new IllegalArgumentException("the certs-only response holds no certificate");
    }
    List<X509Certificate> certificates = new ArrayList<>();
    for (X509CertificateHolder holder : holders) {
      try {
        certificates.add(Certificates.fromDer(holder.getEncoded()));
      } catch (IOException e) {
        throw new IllegalArgumentException("unreadable certificate in response: " + e.getMessage(), e);
      }
    }
    return List.copyOf(certificates);
  }
}
