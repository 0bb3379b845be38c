package org.estfleet.server.ca;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.io.AtomicFile;
import org.estfleet.json.Json;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.config.TlsPairFiles;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;

/**
 * The CA's root key rollover (RFC 7030 section 4.1.3), in two commands.
 *
 * <p>{@link #start} ({@code est-server rollover}) generates the new root and issuing CA, the link
 * certificates NewWithOld and OldWithNew (valid until the end of the overlap), and a new TLS
 * server certificate under the new issuing CA whose chain carries NewWithOld, so that clients
 * trusting only the old root and clients trusting only the new root can both validate it. The
 * new generation lives in {@code ca/next/}; {@code ca/rollover.json}, written last, puts it in
 * force. From the activation time certificates are issued under the new issuing CA.
 *
 * <p>{@link #retire} ({@code est-server retire-root}) ends the overlap: the old generation is
 * archived in {@code ca/retired/}, the new one takes its place, and the TLS chain loses its link.
 */
public final class CaRollover {
  /** How long the link certificates stay valid after the activation by default. */
  public static final Duration DEFAULT_OVERLAP = Duration.ofDays(365);
  private static final Duration TLS_LIFETIME = Duration.ofDays(2 * 365);
  private static final Pattern GENERATED_NAME = Pattern.compile("(.*) Root CA [0-9a-f]{8}");

  private CaRollover() {}

  /** The files of a rollover, relative to the data directory. */
  public record Layout(Path state, Path root, Path rootKey, Path issuing, Path issuingKey, Path newWithOld,
      Path oldWithNew, Path next, Path retired) {}

  /** {@code ca/rollover.json}. */
  public record State(Instant createdAt, Instant activateAt, Instant overlapEndsAt, String oldRootSha256,
      String newRootSha256) {}

  /**
   * What a rollover or retirement did, for the command's report: {@code root} is the new root,
   * {@code oldRoot} the one it replaces (a retirement's archived root).
   */
  public record Outcome(X509Certificate root, X509Certificate issuing, X509Certificate tls, Instant activateAt,
      Instant overlapEndsAt, X509Certificate oldRoot) {}

  /** Where retire-root archives the generation of {@code root}: a directory of {@code retired/}. */
  public static Path archiveOf(Layout files, X509Certificate root) {
    return files.retired().resolve(Certificates.fingerprint(root).substring(0, 16));
  }

  /** Where a rollover's files are: beside the root certificate, absolute. */
  public static Layout files(DataDir dataDir) {
    Path dir = dataDir.resolve(dataDir.config().ca().rootCertificate()).getParent();
    Path next = dir.resolve("next");
    return new Layout(dir.resolve("rollover.json"), next.resolve("root.pem"), next.resolve("root.key"),
        next.resolve("issuing.pem"), next.resolve("issuing.key"), next.resolve("new-with-old.pem"),
        next.resolve("old-with-new.pem"), next, dir.resolve("retired"));
  }

  static State readState(Layout files) throws ConfigException {
    try {
      return Json.parse(Files.readString(files.state(), StandardCharsets.UTF_8), State.class,
          files.state().toString());
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException(files.state() + ": unreadable rollover state: " + e.getMessage(), e);
    }
  }

  /** Removes the rollover's state and its {@code next/} directory (after the new generation is installed). */
  static void forget(Layout files) {
    try {
      Files.deleteIfExists(files.state());
      deleteTree(files.next());
    } catch (IOException e) {
      throw new IllegalStateException("cannot remove " + files.state() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Starts a rollover: new root, new issuing CA, link certificates, new TLS certificate.
   *
   * @param activateAt from when certificates are issued under the new chain
   * @param overlap how long after {@code activateAt} the link certificates stay valid
   * @throws ConfigException if a rollover is already under way, or the CA files are unusable
   */
  public static Outcome start(DataDir dataDir, Instant activateAt, Duration overlap, Clock clock, SecureRandom random)
      throws ConfigException, IOException {
    if (dataDir.config().mode() != ServerConfig.Mode.CA) {
      throw new ConfigException("rollover is for a CA; a gateway passes its upstream's rollover through");
    }
    // A running server takes the new generation up once this is done, never half of it.
    try (CaFilesLock lock = CaFilesLock.acquire(dataDir)) {
      return startLocked(dataDir, activateAt, overlap, clock, random);
    }
  }

  private static Outcome startLocked(DataDir dataDir, Instant activateAt, Duration overlap, Clock clock,
      SecureRandom random) throws ConfigException, IOException {
    // The new TLS certificate is recorded in the database last: a database that is missing, not
    // one, or not writable must stop the command before it writes anything, not half way (with
    // the rollover already in force). So it is opened, and checked, first.
    try (Database database = Database.openExisting(dataDir.resolve(dataDir.config().database().file()))) {
      return startLocked(dataDir, database, activateAt, overlap, clock, random);
    }
  }

  private static Outcome startLocked(DataDir dataDir, Database database, Instant activateAt, Duration overlap,
      Clock clock, SecureRandom random) throws ConfigException, IOException {
    Layout files = files(dataDir);
    Path state = files.state();
    if (Files.exists(state)) {
      State current = readState(files);
      throw new ConfigException("a rollover is already under way (new root sha256 " + current.newRootSha256()
          + ", active from " + current.activateAt() + "); end it with: est-server retire-root --data " + dataDir.root());
    }
    ServerConfig config = dataDir.config();
    Instant now = clock.instant();
    if (activateAt.isBefore(now)) {
      activateAt = now;
    }
    CaMaterial old = CaMaterial.load(dataDir);
    PrivateKey oldRootKey = dataDir.readPrivateKey(config.ca().rootKey());
    if (!KeyPairs.matches(old.root().getPublicKey(), oldRootKey)) {
      // A NewWithOld link signed by another key would verify nowhere, and serve refuses a rollover
      // without a valid one: stopped before anything is written.
      throw new ConfigException(dataDir.resolve(config.ca().rootKey()) + ": this key does not belong to the root CA "
          + "certificate " + dataDir.resolve(config.ca().rootCertificate()) + "; nothing was written");
    }
    Instant overlapEndsAt = activateAt.plus(overlap);
    if (overlapEndsAt.isAfter(old.root().getNotAfter().toInstant())) {
      overlapEndsAt = old.root().getNotAfter().toInstant();
    }
    if (!overlapEndsAt.isAfter(activateAt)) {
      throw new ConfigException("the old root " + Certificates.describe(old.root())
          + " expires before the activation time " + activateAt + ": no overlap is possible");
    }

    CaGenerator.GeneratedCa next = new CaGenerator(clock, random).generate(stem(old.root()));
    X509Certificate newWithOld = link(next.root(), old.root(), oldRootKey, now, overlapEndsAt, random);
    X509Certificate oldWithNew = link(old.root(), next.root(), next.rootKeys().getPrivate(), now, overlapEndsAt, random);

    writePublic(dataDir.resolve(files.root()), Pem.encode(next.root()));
    writePrivate(dataDir.resolve(files.rootKey()), Pem.encodePrivateKey(next.rootKeys().getPrivate()));
    writePublic(dataDir.resolve(files.issuing()), Pem.encode(next.issuing()));
    writePrivate(dataDir.resolve(files.issuingKey()), Pem.encodePrivateKey(next.issuingKeys().getPrivate()));
    writePublic(dataDir.resolve(files.newWithOld()), Pem.encode(newWithOld));
    writePublic(dataDir.resolve(files.oldWithNew()), Pem.encode(oldWithNew));

    // The TLS certificate moves to the new chain at once: with NewWithOld in the chain, clients
    // that trust only the old root validate it as well as clients that trust only the new one.
    // Before the rollover is put in force: stopped here (a full disk, the database), no rollover
    // is under way without its TLS chain, and the command runs again (a new generation).
    CaMaterial.Issuer issuer = new CaMaterial.Issuer(next.issuing(), next.issuingKeys().getPrivate());
    X509Certificate tls = issueTls(dataDir, database, issuer, clock, random,
        chain -> List.of(chain, next.issuing(), newWithOld));
    writePublic(state, Json.write(new State(now, activateAt, overlapEndsAt, Certificates.fingerprint(old.root()),
        Certificates.fingerprint(next.root()))));
    return new Outcome(next.root(), next.issuing(), tls, activateAt, overlapEndsAt, old.root());
  }

  /**
   * Ends a rollover: the new generation replaces the old, which is archived; {@code /cacerts}
   * and the TLS chain no longer carry the old root or the links.
   *
   * @param force retire before the link certificates expire
   */
  public static Outcome retire(DataDir dataDir, boolean force, Clock clock) throws ConfigException, IOException {
    if (dataDir.config().mode() != ServerConfig.Mode.CA) {
      throw new ConfigException("retire-root is for a CA; a gateway passes its upstream's rollover through");
    }
    try (CaFilesLock lock = CaFilesLock.acquire(dataDir)) {
      return retireLocked(dataDir, force, clock);
    }
  }

  private static Outcome retireLocked(DataDir dataDir, boolean force, Clock clock) throws ConfigException, IOException {
    // As for start: a database the new TLS certificate could not be recorded in stops it first.
    try (Database database = Database.openExisting(dataDir.resolve(dataDir.config().database().file()))) {
      return retireLocked(dataDir, database, force, clock);
    }
  }

  private static Outcome retireLocked(DataDir dataDir, Database database, boolean force, Clock clock)
      throws ConfigException, IOException {
    Layout files = files(dataDir);
    if (!Files.exists(files.state())) {
      throw new ConfigException("no rollover under way in " + dataDir.root() + " (start one with est-server rollover)");
    }
    CaMaterial material = CaMaterial.load(dataDir);
    CaMaterial.Rollover rollover = material.rollover();
    if (rollover == null) {
      throw new ConfigException("the rollover in " + dataDir.root() + " was already completed");
    }
    Instant now = clock.instant();
    if (now.isBefore(rollover.activateAt())) {
      throw new ConfigException("the new root is not active before " + rollover.activateAt()
          + "; certificates are still issued under the old one");
    }
    if (now.isBefore(rollover.overlapEndsAt()) && !force) {
      throw new ConfigException("the overlap lasts until " + rollover.overlapEndsAt()
          + ": devices that trust only the old root until then could no longer connect; --force retires it now");
    }
    if (!force) {
      Stranded stranded = onOldChainOnly(new IssuedCertificates(database), rollover, now);
      if (stranded.count() > 0) {
        // Their certificates, under the old issuing CA, would no longer authenticate them (401):
        // they could come back only by bootstrapping again, with a token or an IDevID.
        throw new ConfigException(stranded.count() + " device(s) or gateway(s) hold a certificate of the old chain "
            + "valid until " + stranded.lastExpiry() + " at the latest, and none of the new one: retired, the old "
            + "chain would no longer authenticate them to re-enroll; wait until they renew under the new chain, or "
            + "--force retires it now");
      }
    }
    ServerConfig.CaConfig ca = dataDir.config().ca();
    Path archive = archiveOf(files, material.root());
    // The old generation is archived first: nothing is lost if this stops anywhere below.
    for (Path file : List.of(ca.rootCertificate(), ca.rootKey(), ca.issuingCertificate(), ca.issuingKey(),
        files.newWithOld(), files.oldWithNew())) {
      Path source = dataDir.resolve(file);
      Path target = dataDir.resolve(archive.resolve(file.getFileName()));
      AtomicFile.write(target, Files.readAllBytes(source),
          file.toString().endsWith(".key") ? AtomicFile.PRIVATE : AtomicFile.PUBLIC);
    }
    // The TLS chain without the link, or a new TLS certificate if it is not under the new CA;
    // before the new generation is installed, which a server completes on its own if this stops
    // part way (completeInterruptedRetirement) but could not issue a TLS certificate for.
    Path tlsFile = dataDir.resolve(dataDir.config().tls().certificate());
    List<X509Certificate> chain = Pem.readCertificates(tlsFile);
    X509Certificate tls = chain.get(0);
    if (tls.getIssuerX500Principal().equals(rollover.issuing().getSubjectX500Principal())
        && Certificates.isSignedBy(tls, rollover.issuing().getPublicKey())) {
      TlsPairFiles.complete(tlsFile, List.of(tls, rollover.issuing()));
    } else {
      tls = issueTls(dataDir, database, new CaMaterial.Issuer(rollover.issuing(), rollover.issuingKey()), clock,
          new SecureRandom(), leaf -> List.of(leaf, rollover.issuing()));
    }
    install(dataDir, files);
    return new Outcome(rollover.newRoot(), rollover.issuing(), tls, rollover.activateAt(), rollover.overlapEndsAt(),
        material.root());
  }

  /**
   * Identities (device, label, role) that hold a valid certificate of the old chain and none of
   * the new one.
   *
   * @param lastExpiry when the last of those certificates expires; null when there are none
   */
  record Stranded(long count, Instant lastExpiry) {}

  /**
   * The identities retire-root would strand. A certificate issued before the activation is of
   * the old chain; one issued after is judged by its issuer, since a running server takes a
   * rollover up only at its next check of the files (ca.checkInterval), or at its next start.
   */
  static Stranded onOldChainOnly(IssuedCertificates ledger, CaMaterial.Rollover rollover, Instant now) {
    StrandedCount counted = new StrandedCount(
        X500Name.getInstance(rollover.issuing().getSubjectX500Principal().getEncoded()));
    ledger.forEachValid(now, rollover.activateAt(), counted);
    return counted.result();
  }

  /** Counts, identity by identity of a scan ordered by identity, those on the old chain alone. */
  private static final class StrandedCount implements java.util.function.Consumer<IssuedCertificates.Valid> {
    private final X500Name newIssuer;
    private long count;
    private Instant lastExpiry;
    /** The identity being read, whether it has a certificate of the new chain, its old one's expiry. */
    private String identity;
    private boolean onNew;
    private Instant oldExpiry;

    StrandedCount(X500Name newIssuer) {
      this.newIssuer = newIssuer;
    }

    @Override
    public void accept(IssuedCertificates.Valid valid) {
      String key = valid.deviceId() + '\u0000' + valid.label() + '\u0000' + valid.role();
      if (!key.equals(identity)) {
        endIdentity();
        identity = key;
        onNew = false;
        oldExpiry = null;
      }
      // Issued before the activation: of the old chain. After it: as its issuer says.
      if (valid.certificatePem() != null && issuer(valid.certificatePem()).equals(newIssuer)) {
        onNew = true;
      } else if (oldExpiry == null || valid.notAfter().isAfter(oldExpiry)) {
        oldExpiry = valid.notAfter();
      }
    }

    private void endIdentity() {
      if (identity != null && !onNew && oldExpiry != null) {
        count++;
        lastExpiry = lastExpiry == null || oldExpiry.isAfter(lastExpiry) ? oldExpiry : lastExpiry;
      }
    }

    Stranded result() {
      endIdentity();
      identity = null;
      return new Stranded(count, lastExpiry);
    }
  }

  /** The issuer of a PEM certificate, read without building a JDK certificate object. */
  private static X500Name issuer(String pem) {
    String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return org.bouncycastle.asn1.x509.Certificate.getInstance(java.util.Base64.getDecoder().decode(base64)).getIssuer();
  }

  /**
   * Puts the new generation in the old one's place, then forgets the rollover. The issuing
   * certificate goes first: once it is in place, {@link #completeInterruptedRetirement} knows that
   * a retirement began and completes it.
   */
  private static void install(DataDir dataDir, Layout files) throws IOException {
    ServerConfig.CaConfig ca = dataDir.config().ca();
    copy(dataDir, files.issuing(), ca.issuingCertificate(), AtomicFile.PUBLIC);
    copy(dataDir, files.issuingKey(), ca.issuingKey(), AtomicFile.PRIVATE);
    copy(dataDir, files.rootKey(), ca.rootKey(), AtomicFile.PRIVATE);
    copy(dataDir, files.root(), ca.rootCertificate(), AtomicFile.PUBLIC);
    forget(files);
  }

  /**
   * Completes a {@code retire-root} that stopped part way (the issuing certificate already the
   * new one): the same files are installed again, and the rollover forgotten.
   *
   * @return whether there was one to complete
   */
  static boolean completeInterruptedRetirement(DataDir dataDir) throws IOException {
    Layout files = files(dataDir);
    Path installed = dataDir.resolve(dataDir.config().ca().issuingCertificate());
    if (!Files.exists(files.state()) || !Files.exists(files.issuing()) || !Files.exists(installed)
        || !java.util.Arrays.equals(Files.readAllBytes(files.issuing()), Files.readAllBytes(installed))) {
      return false;
    }
    install(dataDir, files);
    return true;
  }

  /** The link certificate: {@code subject}'s name and key, certified by {@code issuer}'s key. */
  static X509Certificate link(X509Certificate subject, X509Certificate issuer, PrivateKey issuerKey, Instant now,
      Instant notAfter, SecureRandom random) {
    int pathLength = subject.getBasicConstraints();
    return new CertificateBuilder()
        .subject(X500Name.getInstance(subject.getSubjectX500Principal().getEncoded()))
        .publicKey(subject.getPublicKey())
        .serial(CertificateBuilder.randomSerial(random))
        .validity(now.minus(Duration.ofHours(1)), notAfter)
        .ca(pathLength == Integer.MAX_VALUE ? -1 : pathLength)
        .signWith(issuer, issuerKey);
  }

  /** A new TLS server certificate for the names of the current one, issued by {@code issuer} and recorded. */
  private static X509Certificate issueTls(DataDir dataDir, Database database, CaMaterial.Issuer issuer, Clock clock,
      SecureRandom random, java.util.function.Function<X509Certificate, List<X509Certificate>> chainOf)
      throws IOException, ConfigException {
    ServerConfig config = dataDir.config();
    Path certificateFile = dataDir.resolve(config.tls().certificate());
    X509Certificate current = Pem.readCertificates(certificateFile).get(0);
    KeyPair keys = KeyAlgorithm.EC_P256.generate(random);
    Csr csr = new CsrBuilder()
        .subject(X500Name.getInstance(current.getSubjectX500Principal().getEncoded()))
        .subjectAltNames(Certificates.subjectAltNames(current))
        .sign(keys);
    CertificateProfile profile = new CertificateProfile(TLS_LIFETIME, Duration.ofMinutes(5), KeyUsage.digitalSignature,
        List.of(KeyPurposeId.id_kp_serverAuth), null);
    X509Certificate root = dataDir.readCertificates(config.ca().rootCertificate()).get(0);
    X509Certificate tls;
    try {
      LocalCa ca = new LocalCa(new CaMaterial(root, issuer.certificate(), issuer.key()), Map.of(), profile,
          new IssuedCertificates(database), clock, random);
      String name = Certificates.commonName(current.getSubjectX500Principal()).orElse("est-server");
      tls = ca.issue(new IssueRequest("", csr,
          new Requester(name, "local", "est-server rollover (TLS server)", null, null, null, Role.SERVER), false, null),
          profile).certificate();
    } catch (org.estfleet.est.EstException e) {
      throw new IllegalStateException("cannot issue the TLS server certificate: " + e.getMessage(), e);
    }
    TlsPairFiles.write(certificateFile, dataDir.resolve(config.tls().key()), chainOf.apply(tls), keys.getPrivate());
    return tls;
  }

  private static String stem(X509Certificate root) {
    String commonName = Certificates.commonName(root.getSubjectX500Principal()).orElse("EST Fleet");
    Matcher generated = GENERATED_NAME.matcher(commonName);
    return generated.matches() ? generated.group(1) : commonName;
  }


  private static void copy(DataDir dataDir, Path from, Path to, java.util.Set<java.nio.file.attribute.PosixFilePermission> mode)
      throws IOException {
    AtomicFile.write(dataDir.resolve(to), Files.readAllBytes(dataDir.resolve(from)), mode);
  }

  private static void writePublic(Path file, String text) throws IOException {
    AtomicFile.write(file, text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
  }

  private static void writePrivate(Path file, String text) throws IOException {
    AtomicFile.write(file, text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PRIVATE);
  }

  private static void deleteTree(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return;
    }
    List<Path> entries = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(directory)) {
      walk.sorted(Comparator.reverseOrder()).forEach(entries::add);
    } catch (NoSuchFileException e) {
      return;
    }
    for (Path entry : entries) {
      Files.deleteIfExists(entry);
    }
  }
}
