package org.estfleet.server.ca;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.RootRollover;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's certificates and issuing key, and during a root rollover the new generation beside
 * them. The root keys stay on disk: issuing never needs them.
 *
 * @param root the trust anchor clients install from {@code /cacerts} (OldWithOld during a rollover)
 * @param issuing the CA certificate that signs device certificates, certified by {@code root}
 * @param rollover the new generation, or null when no rollover is under way
 */
public record CaMaterial(X509Certificate root, X509Certificate issuing, PrivateKey issuingKey, Rollover rollover) {
  private static final Logger LOG = LoggerFactory.getLogger(CaMaterial.class);

  public CaMaterial {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(issuing, "issuing");
    issuingKey = BouncyCastle.ownKey(Objects.requireNonNull(issuingKey, "issuingKey"));
  }

  public CaMaterial(X509Certificate root, X509Certificate issuing, PrivateKey issuingKey) {
    this(root, issuing, issuingKey, null);
  }

  /**
   * A root rollover (RFC 7030 section 4.1.3) under way.
   *
   * @param newRoot NewWithNew
   * @param newWithOld the new root's name and key certified by the old root
   * @param oldWithNew the old root's name and key certified by the new root
   * @param issuing the new issuing CA, certified by the new root
   * @param activateAt from when certificates are issued under the new chain
   * @param overlapEndsAt when the link certificates expire: the old root may be retired then
   */
  public record Rollover(X509Certificate newRoot, X509Certificate newWithOld, X509Certificate oldWithNew,
      X509Certificate issuing, PrivateKey issuingKey, Instant activateAt, Instant overlapEndsAt) {
    public Rollover {
      issuingKey = BouncyCastle.ownKey(Objects.requireNonNull(issuingKey, "issuingKey"));
    }
  }

  /** An issuing CA certificate with its key. */
  public record Issuer(X509Certificate certificate, PrivateKey key) {}

  /**
   * The certificates {@code /cacerts} serves: the root and the issuing CA; during a rollover
   * OldWithOld, NewWithNew, NewWithOld, OldWithNew, then both issuing CAs.
   */
  public List<X509Certificate> certificates() {
    if (rollover == null) {
      return List.of(root, issuing);
    }
    return List.of(root, rollover.newRoot(), rollover.newWithOld(), rollover.oldWithNew(), issuing, rollover.issuing());
  }

  /** The issuing CA for certificates issued at {@code now}: the new one from the activation time. */
  public Issuer issuerAt(Instant now) {
    return rollover != null && !now.isBefore(rollover.activateAt())
        ? new Issuer(rollover.issuing(), rollover.issuingKey())
        : new Issuer(issuing, issuingKey);
  }

  /**
   * Reads the CA material a data directory's configuration names, checking that the issuing CA
   * is certified by the root and that the key belongs to it, and the rollover files if a
   * rollover is under way ({@link CaRollover}).
   */
  public static CaMaterial load(DataDir dataDir) throws ConfigException {
    ServerConfig.CaConfig config = dataDir.config().ca();
    try {
      if (CaRollover.completeInterruptedRetirement(dataDir)) {
        LOG.warn("completed an interrupted est-server retire-root in {}", dataDir.root());
      }
    } catch (java.io.IOException e) {
      throw new ConfigException("cannot complete the interrupted retire-root in " + dataDir.root() + ": "
          + e.getMessage(), e);
    }
    X509Certificate root = dataDir.readCertificates(config.rootCertificate()).get(0);
    X509Certificate issuing = dataDir.readCertificates(config.issuingCertificate()).get(0);
    PrivateKey issuingKey = dataDir.readPrivateKey(config.issuingKey());
    check(dataDir, root, issuing, issuingKey, config.rootCertificate(), config.issuingCertificate(), config.issuingKey());
    CaRollover.Layout files = CaRollover.files(dataDir);
    if (!Files.exists(files.state())) {
      return new CaMaterial(root, issuing, issuingKey);
    }
    CaRollover.State state = CaRollover.readState(files);
    X509Certificate newRoot = dataDir.readCertificates(files.root()).get(0);
    X509Certificate newIssuing = dataDir.readCertificates(files.issuing()).get(0);
    PrivateKey newIssuingKey = dataDir.readPrivateKey(files.issuingKey());
    check(dataDir, newRoot, newIssuing, newIssuingKey, files.root(), files.issuing(), files.issuingKey());
    X509Certificate newWithOld = dataDir.readCertificates(files.newWithOld()).get(0);
    X509Certificate oldWithNew = dataDir.readCertificates(files.oldWithNew()).get(0);
    List<X509Certificate> bag = new ArrayList<>(List.of(root, newRoot, newWithOld, oldWithNew));
    if (RootRollover.classify(bag, List.of(root), state.createdAt()).vouched().stream()
        .noneMatch(v -> v.newRoot().equals(newRoot) && v.newWithOld().equals(newWithOld))) {
      throw new ConfigException(dataDir.resolve(files.newWithOld()) + ": not a link certificate of the new root "
          + Certificates.describe(newRoot) + " signed by the root " + Certificates.describe(root));
    }
    return new CaMaterial(root, issuing, issuingKey, new Rollover(newRoot, newWithOld, oldWithNew, newIssuing,
        newIssuingKey, state.activateAt(), state.overlapEndsAt()));
  }

  private static void check(DataDir dataDir, X509Certificate root, X509Certificate issuing, PrivateKey issuingKey,
      Path rootFile, Path issuingFile, Path keyFile) throws ConfigException {
    try {
      issuing.verify(root.getPublicKey());
    } catch (java.security.GeneralSecurityException e) {
      throw new ConfigException(dataDir.resolve(issuingFile) + ": the issuing CA is not signed by the root in "
          + dataDir.resolve(rootFile), e);
    }
    if (!KeyPairs.matches(issuing.getPublicKey(), issuingKey)) {
      throw new ConfigException(dataDir.resolve(keyFile) + ": this key does not belong to the issuing CA certificate "
          + dataDir.resolve(issuingFile));
    }
  }
}
