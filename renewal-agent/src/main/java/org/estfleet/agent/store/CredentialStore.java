package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.estfleet.io.AtomicFile;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;

/**
 * The device's key and certificate, switched atomically. Each pair lives in its own directory
 * under {@code credentials/}; the symbolic link {@code current} names the pair in force and
 * {@code previous} the one before. Installing writes and fsyncs a new directory, then renames a
 * new link over {@code current}: readers see the old pair or the new one, never a key of one and
 * the certificate of the other, and a crash at any point leaves a consistent pair in force.
 *
 * <p>For other programs: {@code key.pem}, {@code cert.pem}, {@code chain.pem} point into
 * {@code current/}, and {@code *.prev} into {@code previous/}. A program that must read key and
 * certificate as one pair resolves {@code current} once and reads both from that directory.
 */
public final class CredentialStore {
  public static final String KEY = "key.pem";
  public static final String CERTIFICATE = "cert.pem";
  public static final String CHAIN = "chain.pem";
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private final Path root;
  private final Path directories;

  CredentialStore(Path root) {
    this.root = root;
    this.directories = root.resolve("credentials");
  }

  /**
   * A key with its certificate.
   *
   * @param chain the certificate, then the CA certificates up to (not including) the root
   * @param directory where the pair is stored
   */
  public record Credentials(PrivateKey key, X509Certificate certificate, List<X509Certificate> chain, Path directory) {
    public Credentials {
      chain = List.copyOf(chain);
    }
  }

  /** The pair in force, if the device has enrolled. */
  public Optional<Credentials> current() throws IOException {
    return read(root.resolve("current"));
  }

  /**
   * When no pair is in force ({@code current} missing) but pairs are stored: how to put the
   * newest back ({@code current} removed by hand, say), as a hint for a message; else empty.
   */
  public String restoreHint() {
    if (hasCurrent() || !Files.isDirectory(directories)) {
      return "";
    }
    try (Stream<Path> pairs = Files.list(directories)) {
      // Pair directories are named by issuance time first: the newest sorts last.
      Optional<Path> newest = pairs.filter(Files::isDirectory)
          .filter(pair -> !pair.getFileName().toString().startsWith("."))
          .max(Comparator.comparing(pair -> pair.getFileName().toString()));
      return newest.map(pair -> "; but " + root.relativize(pair) + " holds a pair: if the link 'current' was removed "
          + "by mistake, put it back (ln -sfn " + root.relativize(pair) + " " + root.resolve("current") + ")")
          .orElse("");
    } catch (IOException e) {
      return "";
    }
  }

  /** Whether a pair is in force (readable or not). */
  public boolean hasCurrent() {
    return Files.exists(root.resolve("current"), LinkOption.NOFOLLOW_LINKS);
  }

  /** Whether there is a pair before the current one (readable or not). */
  public boolean hasPrevious() {
    return Files.exists(root.resolve("previous"), LinkOption.NOFOLLOW_LINKS);
  }

  /** The pair before it, if there was one. */
  public Optional<Credentials> previous() throws IOException {
    return read(root.resolve("previous"));
  }

  private Optional<Credentials> read(Path link) throws IOException {
    if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    Path directory;
    try {
      directory = link.toRealPath();
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IOException(link + " points to " + Files.readSymbolicLink(link) + ", which does not exist", e);
    }
    try {
      X509Certificate certificate = Pem.readCertificates(directory.resolve(CERTIFICATE)).get(0);
      List<X509Certificate> chain = Pem.readCertificates(directory.resolve(CHAIN));
      PrivateKey key = Pem.readPrivateKey(directory.resolve(KEY));
      if (!KeyPairs.matches(certificate.getPublicKey(), key)) {
        throw new IOException(directory + ": the key does not belong to the certificate");
      }
      return Optional.of(new Credentials(key, certificate, chain, directory));
    } catch (IllegalArgumentException e) {
      throw new IOException(directory + ": unreadable credentials: " + e.getMessage(), e);
    }
  }

  /**
   * Installs a new pair and makes it current; the pair that was current becomes previous. Older
   * pairs are deleted.
   *
   * @param chain the certificate first, then its CA certificates (no root)
   */
  public Credentials install(PrivateKey key, X509Certificate certificate, List<X509Certificate> chain) throws IOException {
    AtomicFile.createDirectories(directories);
    String name = STAMP.format(Instant.ofEpochMilli(certificate.getNotBefore().getTime()))
        + "-" + Certificates.serialHex(certificate);
    Path target = directories.resolve(name);
    Path temporary = directories.resolve(".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    Files.createDirectory(temporary, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try {
      AtomicFile.write(temporary.resolve(KEY), Pem.encodePrivateKey(key).getBytes(StandardCharsets.US_ASCII), AtomicFile.PRIVATE);
      AtomicFile.write(temporary.resolve(CERTIFICATE), Pem.encode(certificate).getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
      AtomicFile.write(temporary.resolve(CHAIN), Pem.encode(chain).getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
      deleteRecursively(target);
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
      AtomicFile.syncDirectory(directories);
    } finally {
      deleteRecursively(temporary);
    }

    Path current = root.resolve("current");
    if (Files.exists(current, LinkOption.NOFOLLOW_LINKS)) {
      Path old = Files.readSymbolicLink(current);
      if (!root.resolve(old).normalize().equals(target)) {
        replaceLink(root.resolve("previous"), old);
      }
    }
    replaceLink(current, root.relativize(target));
    for (String file : List.of(KEY, CERTIFICATE, CHAIN)) {
      ensureLink(root.resolve(file), Path.of("current", file));
      ensureLink(root.resolve(file + ".prev"), Path.of("previous", file));
    }
    AtomicFile.syncDirectory(root);
    removeUnused();
    return current().orElseThrow();
  }

  /** Renames a fresh link over {@code link}: the switch is one atomic rename. */
  private static void replaceLink(Path link, Path target) throws IOException {
    Path temporary = link.resolveSibling("." + link.getFileName() + ".tmp-"
        + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    Files.createSymbolicLink(temporary, target);
    try {
      Files.move(temporary, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  private static void ensureLink(Path link, Path target) throws IOException {
    if (!Files.isSymbolicLink(link) || !Files.readSymbolicLink(link).equals(target)) {
      replaceLink(link, target);
    }
  }

  /** Deletes pair directories that neither link names, and leftovers of interrupted installs. */
  private void removeUnused() throws IOException {
    Set<Path> inUse = new HashSet<>();
    for (String link : List.of("current", "previous")) {
      Path path = root.resolve(link);
      if (Files.isSymbolicLink(path)) {
        inUse.add(root.resolve(Files.readSymbolicLink(path)).normalize());
      }
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directories)) {
      for (Path entry : entries) {
        if (!inUse.contains(entry.normalize())) {
          deleteRecursively(entry);
        }
      }
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path entry : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(entry);
      }
    }
  }
}
