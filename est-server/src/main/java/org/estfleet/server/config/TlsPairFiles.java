package org.estfleet.server.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.estfleet.io.AtomicFile;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A certificate chain file and its key file, replaced as a pair: the new chain is staged beside
 * the certificate file ({@code .new}), then the key is replaced, then the certificate; each write
 * is atomic, and {@link #recover} completes at the next start a replacement a crash interrupted.
 * Used for the server's TLS identity (a gateway's renewal, a CA's root rollover).
 */
public final class TlsPairFiles {
  private static final Logger LOG = LoggerFactory.getLogger(TlsPairFiles.class);

  private TlsPairFiles() {}

  /** A TLS key and its certificate chain, the certificate first. */
  public record Pair(PrivateKey key, List<X509Certificate> chain) {
    public Pair {
      chain = List.copyOf(chain);
    }
  }

  /** Replaces the pair; when this returns, both files hold the new pair. */
  public static void write(Path certificateFile, Path keyFile, List<X509Certificate> chain, PrivateKey key)
      throws IOException {
    stage(certificateFile, keyFile, chain, key);
    complete(certificateFile, chain);
  }

  /** The first two steps of {@link #write}: the chain staged, the key replaced. */
  public static void stage(Path certificateFile, Path keyFile, List<X509Certificate> chain, PrivateKey key)
      throws IOException {
    AtomicFile.write(staged(certificateFile), Pem.encode(chain).getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
    AtomicFile.write(keyFile, Pem.encodePrivateKey(key).getBytes(StandardCharsets.US_ASCII), AtomicFile.PRIVATE);
  }

  /** The last step of {@link #write}: the certificate file replaced, the staged copy removed. */
  public static void complete(Path certificateFile, List<X509Certificate> chain) throws IOException {
    AtomicFile.write(certificateFile, Pem.encode(chain).getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
    Files.deleteIfExists(staged(certificateFile));
  }

  /**
   * Completes a replacement a crash interrupted: if the key on disk does not belong to the
   * certificate but to the staged one, the staged chain takes the certificate's place.
   */
  public static void recover(Path certificateFile, Path keyFile) throws IOException {
    Path staged = staged(certificateFile);
    if (!Files.exists(staged) || !Files.exists(keyFile)) {
      return;
    }
    PrivateKey key = Pem.readPrivateKey(keyFile);
    List<X509Certificate> installed = Files.exists(certificateFile) ? Pem.readCertificates(certificateFile) : List.of();
    if (!installed.isEmpty() && KeyPairs.matches(installed.get(0).getPublicKey(), key)) {
      Files.delete(staged);
      return;
    }
    List<X509Certificate> replacement = Pem.readCertificates(staged);
    if (KeyPairs.matches(replacement.get(0).getPublicKey(), key)) {
      AtomicFile.write(certificateFile, Files.readAllBytes(staged), AtomicFile.PUBLIC);
      Files.delete(staged);
      LOG.warn("completed an interrupted replacement of {}: now {}", certificateFile,
          Certificates.describe(replacement.get(0)));
    }
  }

  /** Where {@link #stage} puts the new chain until {@link #complete}. */
  public static Path staged(Path certificateFile) {
    return certificateFile.resolveSibling(certificateFile.getFileName() + ".new");
  }
}
