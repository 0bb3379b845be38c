package org.estfleet.server.ca;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import org.estfleet.pki.KeyPairs;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;

/**
 * The CA's certificates and the issuing key. The root key stays on disk: issuing never needs it.
 *
 * @param root the trust anchor clients install from {@code /cacerts}
 * @param issuing the CA certificate that signs device certificates, certified by {@code root}
 */
public record CaMaterial(X509Certificate root, X509Certificate issuing, PrivateKey issuingKey) {
  public CaMaterial {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(issuing, "issuing");
    Objects.requireNonNull(issuingKey, "issuingKey");
  }

  /** The certificates {@code /cacerts} serves: the root and the issuing CA. */
  public List<X509Certificate> certificates() {
    return List.of(root, issuing);
  }

  /**
   * Reads the CA material a data directory's configuration names, checking that the issuing CA
   * is certified by the root and that the key belongs to it.
   */
  public static CaMaterial load(DataDir dataDir) throws ConfigException {
    ServerConfig.CaConfig config = dataDir.config().ca();
    X509Certificate root = dataDir.readCertificates(config.rootCertificate()).get(0);
    X509Certificate issuing = dataDir.readCertificates(config.issuingCertificate()).get(0);
    PrivateKey issuingKey = dataDir.readPrivateKey(config.issuingKey());
    try {
      issuing.verify(root.getPublicKey());
    } catch (java.security.GeneralSecurityException e) {
      throw new ConfigException(dataDir.resolve(config.issuingCertificate())
          + ": the issuing CA is not signed by the root in " + dataDir.resolve(config.rootCertificate()), e);
    }
    if (!KeyPairs.matches(issuing.getPublicKey(), issuingKey)) {
      throw new ConfigException(dataDir.resolve(config.issuingKey())
          + ": this key does not belong to the issuing CA certificate " + dataDir.resolve(config.issuingCertificate()));
    }
    return new CaMaterial(root, issuing, issuingKey);
  }
}
