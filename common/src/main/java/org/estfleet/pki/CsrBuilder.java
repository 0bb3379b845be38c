package org.estfleet.pki;

import java.io.IOException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Builds and signs a PKCS#10 request, as a device does before enrolling. */
public final class CsrBuilder {
  private X500Name subject = new X500Name(new RDN[0]);
  private final List<GeneralName> subjectAltNames = new ArrayList<>();
  private String challengePassword;
  private final List<KeyPurposeId> extendedKeyUsages = new ArrayList<>();

  /** Sets the subject to a single {@code CN=commonName}. */
  public CsrBuilder commonName(String commonName) {
    // As a string value, never parsed: addRDN(oid, String) reads "#..." as hex and drops a leading backslash.
    this.subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, new DERUTF8String(commonName)).build();
    return this;
  }

  public CsrBuilder subject(X500Name subject) {
    this.subject = subject;
    return this;
  }

  public CsrBuilder subjectAltName(GeneralName name) {
    subjectAltNames.add(name);
    return this;
  }

  public CsrBuilder subjectAltNames(List<GeneralName> names) {
    subjectAltNames.addAll(names);
    return this;
  }

  /** Requests these extended key usages (a CA whose profile does not issue them refuses the CSR). */
  public CsrBuilder extendedKeyUsages(List<KeyPurposeId> usages) {
    extendedKeyUsages.addAll(usages);
    return this;
  }

  /** Adds the PKCS#9 challengePassword attribute (as a UTF8String). */
  public CsrBuilder challengePassword(String password) {
    this.challengePassword = password;
    return this;
  }

  /** The signer of CSRs for a key pair, with the algorithm {@link KeyAlgorithm} picks for the key. */
  public static ContentSigner signer(PrivateKey key, PublicKey publicKey) {
    try {
      return new JcaContentSignerBuilder(KeyAlgorithm.signatureAlgorithmFor(publicKey))
          .setProvider(BouncyCastle.PROVIDER).build(key);
    } catch (OperatorCreationException e) {
      throw new IllegalStateException("cannot sign with a " + KeyAlgorithm.describe(publicKey) + " key: "
          + e.getMessage(), e);
    }
  }

  /** Signs the request with the key pair's private key; the public key is the one requested. */
  public Csr sign(KeyPair keys) {
    try {
      PKCS10CertificationRequestBuilder builder =
          new JcaPKCS10CertificationRequestBuilder(subject, keys.getPublic());
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      if (!subjectAltNames.isEmpty()) {
        extensions.addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(subjectAltNames.toArray(GeneralName[]::new)));
      }
      if (!extendedKeyUsages.isEmpty()) {
        extensions.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(extendedKeyUsages.toArray(KeyPurposeId[]::new)));
      }
      if (!extensions.isEmpty()) {
        builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      }
      if (challengePassword != null) {
        builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERUTF8String(challengePassword));
      }
      return Csr.fromDer(builder.build(signer(keys.getPrivate(), keys.getPublic())).getEncoded());
    } catch (IOException e) {
      throw new IllegalStateException("cannot sign CSR for " + subject + ": " + e.getMessage(), e);
    }
  }
}
