package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import org.estfleet.io.AtomicFile;
import org.estfleet.io.SmallFiles;
import org.estfleet.json.Json;
import org.estfleet.pki.Pem;
import org.slf4j.LoggerFactory;

/**
 * The certificates the agent trusts, in {@code trust/}:
 *
 * <ul>
 *   <li>{@code anchors.json}: the explicit trust anchors, the CA roots learned from
 *       {@code /cacerts} over a connection the agent had authenticated (RFC 7030 section 4.1.3),
 *       each with its state in a root rollover ({@link State}), and a version number that every
 *       change increments; the version before a change is kept in {@code history/}. One file,
 *       written atomically, is the truth; {@code anchors.pem} is an export of it for people and
 *       tools (and where an agent of an earlier release kept its anchors, all active);
 *   <li>{@code bootstrap.pem}: the CA file given at enrollment, which authenticated that first
 *       connection and may still be what the server's TLS certificate chains to;
 *   <li>{@code intermediates.pem}: the CA certificates between the anchors and issued
 *       certificates, from {@code /cacerts}.
 * </ul>
 *
 * The TLS client trusts every anchor (active, staged, retiring) and bootstrap; the agent's own
 * certificate must chain to an anchor.
 */
public final class TrustStore {
  private static final String ANCHORS = "anchors.pem";
  private static final String ANCHORS_JSON = "anchors.json";
  private static final String HISTORY = "history";
  private static final String BOOTSTRAP = "bootstrap.pem";
  private static final String INTERMEDIATES = "intermediates.pem";

  private final Path directory;

  TrustStore(Path directory) {
    this.directory = directory;
  }

  /** Where a trust anchor stands in a root rollover. */
  public enum State {
    /** Trusted; what the agent's certificate chains to outside a rollover. */
    ACTIVE,
    /** A new root vouched for by a NewWithOld link from a trusted root; trusted beside it. */
    STAGED,
    /** An old root whose successor the agent's certificate now chains to; removed after the overlap. */
    RETIRING;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A trust anchor and its rollover state.
   *
   * @param since when it entered this state
   * @param vouchedBy for a staged (or promoted) root: the SHA-256 of the root whose link vouched for it
   * @param overlapEndsAt when the rollover's link certificates expire: for a staged root, those
   *     of its NewWithOld; a retiring root is removed once the agent holds a certificate under
   *     another root issued after this instant (the CA's signature attests that time, not the
   *     device's clock)
   */
  public record Anchor(X509Certificate certificate, State state, Instant since, String vouchedBy,
      Instant overlapEndsAt) {
    public Anchor {
      java.util.Objects.requireNonNull(certificate, "certificate");
      java.util.Objects.requireNonNull(state, "state");
    }

    public static Anchor active(X509Certificate certificate, Instant since) {
      return new Anchor(certificate, State.ACTIVE, since, null, null);
    }

    public String sha256() {
      return org.estfleet.pki.Certificates.fingerprint(certificate);
    }
  }

  private record AnchorsFile(Integer version, List<Entry> anchors) {}

  private record Entry(String certificate, String state, Instant since, String vouchedBy, Instant overlapEndsAt) {}

  /** Every trusted root, whatever its state. */
  public List<X509Certificate> anchors() throws IOException {
    return anchorRecords().stream().map(Anchor::certificate).toList();
  }

  /** The trust anchors with their states. */
  public List<Anchor> anchorRecords() throws IOException {
    Path file = directory.resolve(ANCHORS_JSON);
    if (!Files.exists(file)) {
      return read(ANCHORS).stream().map(c -> Anchor.active(c, null)).toList();
    }
    AnchorsFile stored = parse(file);
    List<Anchor> anchors = new ArrayList<>();
    for (Entry entry : stored.anchors() == null ? List.<Entry>of() : stored.anchors()) {
      State state;
      try {
        state = State.valueOf(String.valueOf(entry.state()).toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw unreadableAnchors(file + ": unknown trust anchor state '" + entry.state() + "'", e);
      }
      X509Certificate certificate;
      try {
        certificate = Pem.readCertificates(String.valueOf(entry.certificate()), file.toString()).get(0);
      } catch (IllegalArgumentException e) {
        throw unreadableAnchors(e.getMessage(), e);
      }
      anchors.add(new Anchor(certificate, state, entry.since(), entry.vouchedBy(), entry.overlapEndsAt()));
    }
    return List.copyOf(anchors);
  }

  /** The version of the trust anchors: 0 before the first write of {@code anchors.json}. */
  public int version() throws IOException {
    Path file = directory.resolve(ANCHORS_JSON);
    if (!Files.exists(file)) {
      return 0;
    }
    Integer version = parse(file).version();
    return version == null ? 0 : version;
  }

  /**
   * Replaces the trust anchors: the current version is copied to {@code history/}, the new one
   * written atomically with the next version number, then exported to {@code anchors.pem}.
   */
  public void writeAnchorRecords(List<Anchor> anchors) throws IOException {
    int version = version();
    Path file = directory.resolve(ANCHORS_JSON);
    if (Files.exists(file)) {
      AtomicFile.write(directory.resolve(HISTORY).resolve("anchors." + version + ".json"), Files.readAllBytes(file),
          AtomicFile.PUBLIC);
    }
    List<Entry> entries = new ArrayList<>();
    for (Anchor anchor : anchors) {
      entries.add(new Entry(Pem.encode(anchor.certificate()), anchor.state().label(), anchor.since(), anchor.vouchedBy(),
          anchor.overlapEndsAt()));
    }
    AtomicFile.write(file, Json.write(new AnchorsFile(version + 1, entries)).getBytes(StandardCharsets.UTF_8),
        AtomicFile.PUBLIC);
    write(ANCHORS, anchors.stream().map(Anchor::certificate).toList());
  }

  /**
   * Reads {@code anchors.json}. One that cannot be read is not rebuilt here: the trust anchors
   * are the one thing the agent must never guess (which root is retiring, which was vouched for by
   * which), so the error says where an operator finds what to restore.
   */
  private AnchorsFile parse(Path file) throws IOException {
    try {
      return Json.parse(SmallFiles.readString(file, StandardCharsets.UTF_8), AnchorsFile.class, file.toString());
    } catch (IllegalArgumentException | CharacterCodingException e) {
      throw unreadableAnchors(describe(file, e), e);
    } catch (NoSuchFileException e) {
      throw e;
    } catch (IOException e) {
      // SmallFiles' refusals (a device, a directory, too large) do not name the file; the JDK's
      // access errors are the path alone.
      String message = String.valueOf(e.getMessage());
      throw unreadableAnchors(message.startsWith(file.toString()) ? message : file + ": " + message, e);
    }
  }

  private IOException unreadableAnchors(String problem, Exception cause) {
    Path history = directory.resolve(HISTORY);
    return new IOException(problem + "; the roots it held are in " + directory.resolve(ANCHORS)
        + (Files.isDirectory(history) ? " and its earlier versions in " + history + "/" : "")
        + ": restore it, or enroll again with renewal-agent enroll --force", cause);
  }

  public List<X509Certificate> bootstrap() throws IOException {
    return read(BOOTSTRAP);
  }

  /**
   * The CA certificates between the anchors and issued certificates. They are only a copy of what
   * an authenticated {@code /cacerts} sent, and each must still chain to an anchor to be used: a
   * file that cannot be read (a damaged disk, an edit by hand) is kept as
   * {@code intermediates.pem.unreadable} and read as empty, for the next {@code /cacerts} to
   * rebuild, rather than failing every renewal until someone repairs it.
   */
  public List<X509Certificate> intermediates() throws IOException {
    Path file = directory.resolve(INTERMEDIATES);
    try {
      return certificates(file);
    } catch (IOException | IllegalArgumentException e) {
      if (!(e instanceof IllegalArgumentException || e instanceof CharacterCodingException)) {
        throw e;
      }
      Path kept = directory.resolve(INTERMEDIATES + ".unreadable");
      try {
        Files.move(file, kept, StandardCopyOption.REPLACE_EXISTING);
        AtomicFile.syncDirectory(directory);
      } catch (IOException moving) {
        moving.addSuppressed(e);
        throw moving;
      }
      LoggerFactory.getLogger(TrustStore.class).warn("{}; kept as {}; the next /cacerts rebuilds it", describe(file, e), kept);
      return List.of();
    }
  }

  /** What the TLS client trusts: the anchors and the bootstrap CA file, without duplicates. */
  public List<X509Certificate> tlsAnchors() throws IOException {
    LinkedHashSet<X509Certificate> all = new LinkedHashSet<>(anchors());
    all.addAll(bootstrap());
    return List.copyOf(all);
  }

  /** Replaces the trust anchors by these roots, all active since {@code since}. */
  public void writeAnchors(List<X509Certificate> certificates, Instant since) throws IOException {
    List<Anchor> anchors = new ArrayList<>();
    for (X509Certificate certificate : certificates) {
      anchors.add(Anchor.active(certificate, since));
    }
    writeAnchorRecords(anchors);
  }

  public void writeBootstrap(List<X509Certificate> certificates) throws IOException {
    write(BOOTSTRAP, certificates);
  }

  public void writeIntermediates(List<X509Certificate> certificates) throws IOException {
    write(INTERMEDIATES, certificates);
  }

  private List<X509Certificate> read(String name) throws IOException {
    Path file = directory.resolve(name);
    try {
      return certificates(file);
    } catch (CharacterCodingException | IllegalArgumentException e) {
      throw new IOException(describe(file, e), e);
    }
  }

  /** The certificates of a PEM file; none if it is missing or blank. */
  private static List<X509Certificate> certificates(Path file) throws IOException {
    if (!Files.exists(file)) {
      return List.of();
    }
    String text = SmallFiles.readString(file, StandardCharsets.US_ASCII);
    return text.isBlank() ? List.of() : Pem.readCertificates(text, file.toString());
  }

  private static String describe(Path file, Exception e) {
    // Pem's messages name the file; the JDK's decoder says only "Input length = 1".
    return e instanceof CharacterCodingException ? file + ": not a PEM file (bytes that are not ASCII)" : e.getMessage();
  }

  /**
   * Writes {@code anchors.pem} again from {@code anchors.json} when it no longer holds the trust
   * anchors (removed, damaged, edited by hand): people and tools read it, and the agent otherwise
   * writes it only when the anchors change. A file found different is kept as
   * {@code anchors.pem.replaced}; the anchors themselves are never taken from it.
   *
   * @return what was done, for the log; empty if the export was right, or there is no
   *     {@code anchors.json} ({@code anchors.pem} is then the anchors, as an earlier release kept them)
   */
  public Optional<String> repairAnchorsExport() throws IOException {
    if (!Files.exists(directory.resolve(ANCHORS_JSON))) {
      return Optional.empty();
    }
    byte[] expected = pem(anchors());
    Path file = directory.resolve(ANCHORS);
    if (!Files.exists(file)) {
      AtomicFile.write(file, expected, AtomicFile.PUBLIC);
      return Optional.of(file + " was missing; written again from anchors.json");
    }
    if (Arrays.equals(SmallFiles.read(file), expected)) {
      return Optional.empty();
    }
    Path kept = directory.resolve(ANCHORS + ".replaced");
    Files.move(file, kept, StandardCopyOption.REPLACE_EXISTING);
    AtomicFile.write(file, expected, AtomicFile.PUBLIC);
    return Optional.of(file + " did not hold the trust anchors of anchors.json; written again from it, "
        + "the file found kept as " + kept);
  }

  private void write(String name, List<X509Certificate> certificates) throws IOException {
    AtomicFile.write(directory.resolve(name), pem(certificates), AtomicFile.PUBLIC);
  }

  private static byte[] pem(List<X509Certificate> certificates) {
    String text = certificates.isEmpty() ? "" : Pem.encode(new ArrayList<>(certificates));
    return text.getBytes(StandardCharsets.US_ASCII);
  }
}
