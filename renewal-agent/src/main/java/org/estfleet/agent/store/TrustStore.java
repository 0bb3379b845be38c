package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import org.estfleet.io.AtomicFile;
import org.estfleet.pki.Pem;

/**
 * The certificates the agent trusts, in {@code trust/}:
 *
 * <ul>
 *   <li>{@code anchors.pem}: the explicit trust anchors, the CA roots learned from
 *       {@code /cacerts} over a connection the agent had authenticated (RFC 7030 section 4.1.3);
 *   <li>{@code bootstrap.pem}: the CA file given at enrollment, which authenticated that first
 *       connection and may still be what the server's TLS certificate chains to;
 *   <li>{@code intermediates.pem}: the CA certificates between the anchors and issued
 *       certificates, from {@code /cacerts}.
 * </ul>
 *
 * The TLS client trusts anchors and bootstrap; the agent's own certificate must chain to an
 * anchor.
 */
public final class TrustStore {
  private static final String ANCHORS = "anchors.pem";
  private static final String BOOTSTRAP = "bootstrap.pem";
  private static final String INTERMEDIATES = "intermediates.pem";

  private final Path directory;

  TrustStore(Path directory) {
    this.directory = directory;
  }

  public List<X509Certificate> anchors() throws IOException {
    return read(ANCHORS);
  }

  public List<X509Certificate> bootstrap() throws IOException {
    return read(BOOTSTRAP);
  }

  public List<X509Certificate> intermediates() throws IOException {
    return read(INTERMEDIATES);
  }

  /** What the TLS client trusts: the anchors and the bootstrap CA file, without duplicates. */
  public List<X509Certificate> tlsAnchors() throws IOException {
    LinkedHashSet<X509Certificate> all = new LinkedHashSet<>(anchors());
    all.addAll(bootstrap());
    return List.copyOf(all);
  }

  public void writeAnchors(List<X509Certificate> certificates) throws IOException {
    write(ANCHORS, certificates);
  }

  public void writeBootstrap(List<X509Certificate> certificates) throws IOException {
    write(BOOTSTRAP, certificates);
  }

  public void writeIntermediates(List<X509Certificate> certificates) throws IOException {
    write(INTERMEDIATES, certificates);
  }

  private List<X509Certificate> read(String name) throws IOException {
    Path file = directory.resolve(name);
    if (!Files.exists(file)) {
      return List.of();
    }
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    if (text.isBlank()) {
      return List.of();
    }
    try {
      return Pem.readCertificates(text, file.toString());
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  private void write(String name, List<X509Certificate> certificates) throws IOException {
    String text = certificates.isEmpty() ? "" : Pem.encode(new ArrayList<>(certificates));
    AtomicFile.write(directory.resolve(name), text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
  }
}
