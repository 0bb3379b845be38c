package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.estfleet.io.AtomicFile;
import org.estfleet.io.SmallFiles;
import org.estfleet.pki.Csr;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;

/**
 * The key and CSR of a request in flight, in {@code pending/}. They are written before the CSR
 * is sent, so that a certificate issued in answer (at once, or after a 202 and a restart) always
 * finds its key, and a retry sends the very same CSR (which a gateway matches by identity and
 * public key). A bootstrap token, if the request used one, is kept with them until the
 * enrollment completes.
 */
public final class PendingStore {
  private static final String KEY = "key.pem";
  private static final String CSR = "csr.der";
  private static final String TOKEN = "token";

  private final Path directory;

  PendingStore(Path directory) {
    this.directory = directory;
  }

  /** A request in flight. */
  public record Request(PrivateKey key, Csr csr, String token) {
    @Override
    public String toString() {
      return "Request[" + csr + "]";
    }
  }

  /** Stores a request before it is sent; replaces any previous one. */
  public void save(PrivateKey key, Csr csr, String token) throws IOException {
    clear();
    AtomicFile.write(directory.resolve(KEY), Pem.encodePrivateKey(key).getBytes(StandardCharsets.US_ASCII), AtomicFile.PRIVATE);
    if (token != null) {
      AtomicFile.write(directory.resolve(TOKEN), token.getBytes(StandardCharsets.UTF_8), AtomicFile.PRIVATE);
    }
    // The CSR last: its presence marks a complete request.
    AtomicFile.write(directory.resolve(CSR), csr.der(), AtomicFile.PRIVATE);
  }

  /** The request in flight, if a complete one is stored. */
  public Optional<Request> load() throws IOException {
    Path csrFile = directory.resolve(CSR);
    if (!Files.exists(csrFile)) {
      return Optional.empty();
    }
    try {
      Csr csr = Csr.fromDer(SmallFiles.read(csrFile));
      PrivateKey key = Pem.readPrivateKey(directory.resolve(KEY));
      if (!KeyPairs.matches(csr.publicKey(), key)) {
        throw new IOException(directory + ": the pending key does not belong to the pending CSR");
      }
      Path tokenFile = directory.resolve(TOKEN);
      String token = Files.exists(tokenFile) ? SmallFiles.readString(tokenFile, StandardCharsets.UTF_8) : null;
      return Optional.of(new Request(key, csr, token));
    } catch (IllegalArgumentException e) {
      throw new IOException(directory + ": unreadable pending request: " + e.getMessage(), e);
    }
  }

  /** Forgets the request in flight. */
  public void clear() throws IOException {
    if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(directory)) {
      // Not the agent's (it only ever makes a directory here): left for a person to look at.
      throw new IOException(directory + " is not a directory (a file, or a link to one): the agent keeps the key and "
          + "CSR of a request in flight there; move it away");
    }
    try (Stream<Path> walk = Files.walk(directory)) {
      for (Path entry : walk.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(directory)).toList()) {
        Files.deleteIfExists(entry);
      }
    }
    AtomicFile.syncDirectory(directory);
  }
}
