package org.estfleet.pki;

import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.KeyManagerFactory;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;

/**
 * Test fixture: builds PKIs in code (root, intermediates, leaves), so that no test depends on a
 * key file. Every name gets a random suffix unless given exactly, so that two fixtures never
 * collide by name.
 */
public final class TestPki {
  public static final SecureRandom RANDOM = new SecureRandom();

  private TestPki() {}

  /** A certificate with its key pair and the chain above it (the certificate first, root last). */
  public record Held(X509Certificate certificate, KeyPair keys, List<X509Certificate> chain) {
    public Held {
      chain = List.copyOf(chain);
    }

    public PrivateKey privateKey() {
      return keys.getPrivate();
    }

    public String commonName() {
      return Certificates.commonName(certificate.getSubjectX500Principal()).orElseThrow();
    }
  }

  /** A CA that can issue certificates and subordinate CAs. */
  public static final class Ca {
    private final Held held;

    private Ca(Held held) {
      this.held = held;
    }

    public Held held() {
      return held;
    }

    public X509Certificate certificate() {
      return held.certificate();
    }

    /** An intermediate CA (path length 0) under this one. */
    public Ca subCa(String commonName) {
      return new Ca(issue(commonName, b -> b.ca(0)));
    }

    /** As {@link #subCa(String)}, holding {@code keys}. */
    public Ca subCa(String commonName, KeyPair keys) {
      return new Ca(issue(commonName, keys, b -> b.ca(0)));
    }

    /** A client certificate (EKU clientAuth) for {@code commonName}. */
    public Held issueClient(String commonName) {
      return issue(commonName, b -> b.keyUsage(KeyUsage.digitalSignature).extendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
    }

    /**
     * A certificate for {@code commonName} with an EC P-256 key, valid from an hour ago for a
     * year, after {@code customize} has adjusted the builder.
     */
    public Held issue(String commonName, Consumer<CertificateBuilder> customize) {
      KeyPair keys = KeyAlgorithm.EC_P256.generate(RANDOM);
      return issue(commonName, keys, customize);
    }

    public Held issue(String commonName, KeyPair keys, Consumer<CertificateBuilder> customize) {
      Instant now = Instant.now();
      // Bouncy Castle's name parser refuses a CN beyond RFC 5280's 64 characters (since 1.85); the
      // tests make such certificates to see them refused, so those are encoded as given.
      X500Name subject = commonName.length() > 64
          ? new X500Name(new RDN[] {new RDN(BCStyle.CN, new DERUTF8String(commonName))})
          : new X500Name("CN=" + commonName);
      CertificateBuilder builder = new CertificateBuilder()
          .subject(subject)
          .publicKey(keys.getPublic())
          .serial(CertificateBuilder.randomSerial(RANDOM))
          .validity(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)));
      customize.accept(builder);
      X509Certificate certificate = builder.signWith(held.certificate(), held.privateKey());
      List<X509Certificate> chain = new ArrayList<>();
      chain.add(certificate);
      chain.addAll(held.chain());
      return new Held(certificate, keys, chain);
    }
  }

  /** The JDK's PKIX key managers holding one key and its chain (leaf first), as a TLS client presents it. */
  public static KeyManagerFactory keyManagers(PrivateKey key, X509Certificate... chain) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("device", key, "x".toCharArray(), chain);
      KeyManagerFactory keyManagers = KeyManagerFactory.getInstance("PKIX");
      keyManagers.init(store, "x".toCharArray());
      return keyManagers;
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A self-signed root CA named {@code CN=<commonName> <random>}, valid for ten years. */
  public static Ca rootCa(String commonName) {
    return rootCa(commonName, KeyAlgorithm.EC_P256.generate(RANDOM));
  }

  /** As {@link #rootCa(String)}, with {@code keys} (of any algorithm {@link KeyAlgorithm} signs with). */
  public static Ca rootCa(String commonName, KeyPair keys) {
    Instant now = Instant.now();
    X509Certificate root = new CertificateBuilder()
        .subject(new X500Name("CN=" + commonName + " " + Long.toHexString(RANDOM.nextLong())))
        .publicKey(keys.getPublic())
        .serial(CertificateBuilder.randomSerial(RANDOM))
        .validity(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(3650)))
        .ca(-1)
        .selfSign(keys.getPrivate());
    return new Ca(new Held(root, keys, List.of(root)));
  }
}
