package org.estfleet.pki;

import com.google.gson.annotations.SerializedName;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * The key types devices and CAs may generate, with the signature algorithm each one uses. In JSON
 * and on command lines they are named by {@link #id()}.
 */
public enum KeyAlgorithm {
  @SerializedName("ec-p256") EC_P256("ec-p256", "EC", 256, "SHA256withECDSA"),
  @SerializedName("ec-p384") EC_P384("ec-p384", "EC", 384, "SHA384withECDSA"),
  @SerializedName("rsa-2048") RSA_2048("rsa-2048", "RSA", 2048, "SHA256withRSA"),
  @SerializedName("rsa-3072") RSA_3072("rsa-3072", "RSA", 3072, "SHA256withRSA");

  private final String id;
  private final String jcaName;
  private final int bits;
  private final String signatureAlgorithm;

  KeyAlgorithm(String id, String jcaName, int bits, String signatureAlgorithm) {
    this.id = id;
    this.jcaName = jcaName;
    this.bits = bits;
    this.signatureAlgorithm = signatureAlgorithm;
  }

  /** The name used in configuration files and on command lines, e.g. {@code ec-p256}. */
  public String id() {
    return id;
  }

  /** The JCA signature algorithm a key of this type signs with, e.g. {@code SHA256withECDSA}. */
  public String signatureAlgorithm() {
    return signatureAlgorithm;
  }

  /** Generates a fresh key pair of this type. */
  public KeyPair generate(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance(jcaName, BouncyCastle.PROVIDER);
      if (jcaName.equals("EC")) {
        generator.initialize(new ECGenParameterSpec(bits == 256 ? "secp256r1" : "secp384r1"), random);
      } else {
        generator.initialize(bits, random);
      }
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a " + id + " key", e);
    }
  }

  /** Parses a configuration name such as {@code ec-p256}; the message lists the valid names. */
  public static KeyAlgorithm fromId(String id) {
    for (KeyAlgorithm algorithm : values()) {
      if (algorithm.id.equals(id.toLowerCase(Locale.ROOT))) {
        return algorithm;
      }
    }
    throw new IllegalArgumentException(
        "unknown key type '" + id + "'; use one of "
            + Arrays.stream(values()).map(KeyAlgorithm::id).collect(Collectors.joining(", ")));
  }

  /**
   * The type of {@code key}, if it is one of these: an EC key on P-256 or P-384, an RSA key
   * (rsaEncryption, not one restricted to RSASSA-PSS) of 2048 or 3072 bits.
   */
  public static Optional<KeyAlgorithm> of(PublicKey key) {
    AlgorithmIdentifier algorithm = SubjectPublicKeyInfo.getInstance(key.getEncoded()).getAlgorithm();
    if (key instanceof ECPublicKey) {
      // The curve as the key names it: P-256 and P-384 by their OIDs, not by a field size that
      // another curve (brainpool, secp256k1) shares.
      ASN1Encodable curve = algorithm.getParameters();
      return SECObjectIdentifiers.secp256r1.equals(curve) ? Optional.of(EC_P256)
          : SECObjectIdentifiers.secp384r1.equals(curve) ? Optional.of(EC_P384) : Optional.empty();
    }
    if (key instanceof RSAPublicKey rsa && PKCSObjectIdentifiers.rsaEncryption.equals(algorithm.getAlgorithm())) {
      int bits = rsa.getModulus().bitLength();
      return bits == 2048 ? Optional.of(RSA_2048) : bits == 3072 ? Optional.of(RSA_3072) : Optional.empty();
    }
    return Optional.empty();
  }

  /**
   * The JCA signature algorithm to sign with a key whose public half is {@code key}: SHA-256 for
   * P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521, Ed25519 for Ed25519.
   */
  public static String signatureAlgorithmFor(PublicKey key) {
    if (key instanceof ECPublicKey ec) {
      int fieldBits = ec.getParams().getCurve().getField().getFieldSize();
      return fieldBits <= 256 ? "SHA256withECDSA" : fieldBits <= 384 ? "SHA384withECDSA" : "SHA512withECDSA";
    }
    if (key instanceof RSAPublicKey) {
      return "SHA256withRSA";
    }
    if (key.getAlgorithm().equalsIgnoreCase("Ed25519") || key.getAlgorithm().equals("EdDSA")) {
      return "Ed25519";
    }
    throw new IllegalArgumentException("no signature algorithm for " + key.getAlgorithm() + " keys");
  }

  /** A short human description of a public key, e.g. {@code EC P-256} or {@code RSA 2048}. */
  public static String describe(PublicKey key) {
    if (key instanceof ECPublicKey ec) {
      return "EC P-" + ec.getParams().getCurve().getField().getFieldSize();
    }
    if (key instanceof RSAPublicKey rsa) {
      return "RSA " + rsa.getModulus().bitLength();
    }
    return key.getAlgorithm();
  }
}
