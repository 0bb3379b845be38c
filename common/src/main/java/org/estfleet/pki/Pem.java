package org.estfleet.pki;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.estfleet.io.SmallFiles;

/**
 * PEM text (RFC 7468) for certificates, private keys and CSRs. Reading accepts the forms that
 * OpenSSL writes: {@code CERTIFICATE}, {@code PRIVATE KEY} (PKCS#8), {@code EC PRIVATE KEY} and
 * {@code RSA PRIVATE KEY}; writing produces certificates and PKCS#8 keys. Malformed input is an
 * {@link IllegalArgumentException} that names the source and what was found instead.
 */
public final class Pem {
  private Pem() {}

  /** The PEM text of the certificates, in order. */
  public static String encode(List<X509Certificate> certificates) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      for (X509Certificate certificate : certificates) {
        writer.writeObject(certificate);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** The PEM text of one certificate. */
  public static String encode(X509Certificate certificate) {
    return encode(List.of(certificate));
  }

  /** The unencrypted PKCS#8 PEM text ({@code PRIVATE KEY}) of a private key. */
  public static String encodePrivateKey(PrivateKey key) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      // JcaPKCS8Generator keeps the PKCS#8 form; a bare key would be written in OpenSSL's
      // traditional per-algorithm form instead.
      writer.writeObject(new JcaPKCS8Generator(key, null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** The PEM text ({@code CERTIFICATE REQUEST}) of a CSR. */
  public static String encodeCsr(Csr csr) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(new PKCS10CertificationRequest(csr.der()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /**
   * Every certificate in the PEM text, in order; other PEM blocks are skipped.
   *
   * @param source names the text in error messages, e.g. a file name
   * @throws IllegalArgumentException if there is no certificate or a block is malformed
   */
  public static List<X509Certificate> readCertificates(String pem, String source) {
    List<X509Certificate> certificates = new ArrayList<>();
    for (Object object : parseAll(pem, source)) {
      if (object instanceof X509CertificateHolder holder) {
        certificates.add(Certificates.fromHolder(holder));
      }
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(source + ": no PEM CERTIFICATE block found");
    }
    return List.copyOf(certificates);
  }

  /** {@link #readCertificates(String, String)} of a file. */
  public static List<X509Certificate> readCertificates(Path file) {
    return readCertificates(readFile(file), file.toString());
  }

  /**
   * The one private key in the PEM text (PKCS#8, SEC 1 EC or PKCS#1 RSA form).
   *
   * @throws IllegalArgumentException if there is no key, more than one, or it is encrypted
   */
  public static PrivateKey readPrivateKey(String pem, String source) {
    List<PrivateKey> keys = new ArrayList<>();
    for (Object object : parseAll(pem, source)) {
      try {
        if (object instanceof PrivateKeyInfo info) {
          keys.add(platformKey(info));
        } else if (object instanceof PEMKeyPair pair) {
          keys.add(platformKey(pair.getPrivateKeyInfo()));
        } else if (object instanceof PEMEncryptedKeyPair
            || object instanceof PKCS8EncryptedPrivateKeyInfo) {
          throw new IllegalArgumentException(
              source + ": the private key is encrypted; store it unencrypted with mode 0600");
        }
      } catch (IOException e) {
        throw new IllegalArgumentException(source + ": unreadable private key: " + e.getMessage(), e);
      }
    }
    if (keys.size() != 1) {
      throw new IllegalArgumentException(
          source + ": expected one PEM private key, found " + keys.size());
    }
    return keys.get(0);
  }

  /**
   * The key as the platform's own key factory makes it ({@code EC}, {@code RSA}, {@code Ed25519}):
   * JSSE chooses client and server certificates by key algorithm name, and does not recognise a
   * key that Bouncy Castle's converter names {@code ECDSA}.
   */
  private static PrivateKey platformKey(PrivateKeyInfo info) throws IOException {
    ASN1ObjectIdentifier algorithm = info.getPrivateKeyAlgorithm().getAlgorithm();
    String name = algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey) ? "EC"
        : algorithm.equals(PKCSObjectIdentifiers.rsaEncryption) ? "RSA"
        : algorithm.equals(EdECObjectIdentifiers.id_Ed25519) ? "Ed25519"
        : null;
    try {
      if (name != null) {
        return KeyFactory.getInstance(name).generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
      }
      return new JcaPEMKeyConverter().setProvider(BouncyCastle.PROVIDER).getPrivateKey(info);
    } catch (GeneralSecurityException e) {
      throw new IOException("unsupported or corrupt " + algorithm + " key: " + e.getMessage(), e);
    }
  }

  /** {@link #readPrivateKey(String, String)} of a file. */
  public static PrivateKey readPrivateKey(Path file) {
    return readPrivateKey(readFile(file), file.toString());
  }

  /** The key pair formed by a private key file and the public key of a certificate. */
  public static KeyPair readKeyPair(Path keyFile, X509Certificate certificate) {
    return new KeyPair(certificate.getPublicKey(), readPrivateKey(keyFile));
  }

  private static List<Object> parseAll(String pem, String source) {
    List<Object> objects = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
        objects.add(object);
      }
    } catch (IOException | RuntimeException e) {
      // PEMParser reports bad base64 and bad DER inside a block as IOException or as runtime
      // exceptions from the ASN.1 layer; both mean the same thing to the caller.
      throw new IllegalArgumentException(source + ": malformed PEM: " + e.getMessage(), e);
    }
    return objects;
  }

  private static String readFile(Path file) {
    try {
      return SmallFiles.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
    }
  }
}
