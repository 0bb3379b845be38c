package org.estfleet.server.ca;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.estfleet.pki.Certificates;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.config.TlsPairFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running CA's material, taken up again when {@code est-server rollover} or {@code retire-root}
 * changed it: at every check it compares the files that say which generation is in force (the
 * rollover state, the root and issuing CA certificates, the TLS certificate) with what it loaded,
 * and on a change loads them again, holding {@link CaFilesLock} so that a command still writing is
 * never half read. The new material goes to the listener first ({@link #start}: the TLS identity
 * and the issuers it names to clients); once it took it, {@link #current} hands it to issuance,
 * {@code /cacerts} and authentication. Files that do not load leave the material in force as it
 * is, with one error in the log, and are tried again at every check.
 */
public final class CaReloader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CaReloader.class);

  /** What a CA serves with: its material and its TLS identity. */
  public record Loaded(CaMaterial ca, TlsPairFiles.Pair tls) {}

  private final DataDir dataDir;
  private final ScheduledExecutorService timer;
  private volatile Loaded current;
  /** The stamp of {@link #current}'s files; guarded by this. */
  private byte[] loadedStamp;
  /** Why the files in the directory are not those in force, logged once while it lasts; null if they are. */
  private volatile String lastFailure;

  private CaReloader(DataDir dataDir, Loaded current, byte[] stamp) {
    this.dataDir = dataDir;
    this.current = current;
    this.loadedStamp = stamp;
    this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "ca-files");
      thread.setDaemon(true);
      return thread;
    });
  }

  /**
   * Loads the CA's material and TLS identity, waiting for a command that is changing them.
   *
   * @throws ConfigException if they are missing or inconsistent
   */
  public static CaReloader load(DataDir dataDir) throws ConfigException, IOException {
    try (CaFilesLock lock = CaFilesLock.acquireShared(dataDir)) {
      // Stamped after reading, which may complete an interrupted retire-root or TLS replacement:
      // what is on disk then is what is in force.
      Loaded loaded = read(dataDir);
      return new CaReloader(dataDir, loaded, stamp(dataDir));
    }
  }

  /** The material in force. */
  public Loaded current() {
    return current;
  }

  /**
   * Why changed CA files are not in force, while that lasts (for {@code GET /health}); empty when
   * the files are those in force.
   */
  public Optional<String> failure() {
    return Optional.ofNullable(lastFailure);
  }

  /** The CA material in force. */
  public CaMaterial ca() {
    return current.ca();
  }

  /**
   * Checks the files every {@code interval} from now on.
   *
   * @param listener takes up new material before it is in force (the TLS listener); if it
   *     throws, the material in force stays and the next check tries again
   */
  public void start(Duration interval, Consumer<Loaded> listener) {
    timer.scheduleWithFixedDelay(() -> check(listener), interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** What a check found. */
  enum Check {
    /** The files are those in force. */
    UNCHANGED,
    /** A command holds the files: the next check looks again. */
    BUSY,
    /** Changed, loaded, taken up by the listener, and now in force. */
    TOOK_UP,
    /**
     * Changed, but they do not load (content, a full disk, a permission), or the listener refused
     * the new material: the material in force stays, and the next check tries again.
     */
    FAILED
  }

  /**
   * One check of the files (the timer's, or a test's in place of it). A failure is logged once
   * while it lasts, and looked at again at every check: files fixed by hand, a disk with room
   * again, are taken up without another change.
   */
  synchronized Check check(Consumer<Loaded> listener) {
    try {
      if (Arrays.equals(stamp(dataDir), loadedStamp)) {
        lastFailure = null; // put back as they were: nothing is waiting to be taken up
        return Check.UNCHANGED;
      }
      Optional<CaFilesLock> lock = CaFilesLock.tryAcquireShared(dataDir);
      if (lock.isEmpty()) {
        return Check.BUSY;
      }
      try (CaFilesLock held = lock.get()) {
        // Stamped before reading: a hand edit during the read is seen at the next check. (Reading
        // may itself complete an interrupted retire-root or TLS replacement: then the next check
        // reads the completed files once more.)
        byte[] stamp = stamp(dataDir);
        Loaded loaded = read(dataDir);
        listener.accept(loaded);
        current = loaded;
        loadedStamp = stamp;
        lastFailure = null;
        LOG.info("took up the CA's changed files: root {}{}, TLS certificate {}",
            Certificates.describe(loaded.ca().root()), loaded.ca().rollover() == null ? ""
                : ", new root " + Certificates.describe(loaded.ca().rollover().newRoot()) + " in rollover",
            Certificates.describe(loaded.tls().chain().get(0)));
        return Check.TOOK_UP;
      }
    } catch (ConfigException | IOException | RuntimeException e) {
      String failure = e.getMessage() == null ? e.toString() : e.getMessage();
      if (!failure.equals(lastFailure)) {
        LOG.error("cannot take up the CA's changed files; serving with the material in force, trying again at "
            + "every check: {}", failure);
        lastFailure = failure;
      }
      return Check.FAILED;
    }
  }

  private static Loaded read(DataDir dataDir) throws ConfigException, IOException {
    return new Loaded(CaMaterial.load(dataDir), dataDir.readTls());
  }

  /** A digest of every file {@link #read} reads: any change to them is another generation or TLS identity. */
  private static byte[] stamp(DataDir dataDir) throws IOException {
    CaRollover.Layout files = CaRollover.files(dataDir);
    ServerConfig config = dataDir.config();
    Path tlsCertificate = dataDir.resolve(config.tls().certificate());
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (Path file : List.of(files.state(), dataDir.resolve(config.ca().rootCertificate()),
        dataDir.resolve(config.ca().issuingCertificate()), dataDir.resolve(config.ca().issuingKey()),
        dataDir.resolve(files.root()), dataDir.resolve(files.issuing()), dataDir.resolve(files.issuingKey()),
        dataDir.resolve(files.newWithOld()), dataDir.resolve(files.oldWithNew()), tlsCertificate,
        TlsPairFiles.staged(tlsCertificate), dataDir.resolve(config.tls().key()))) {
      byte[] content;
      try {
        content = Files.readAllBytes(file);
      } catch (NoSuchFileException e) {
        content = null;
      }
      digest.update((byte) (content == null ? 0 : 1));
      if (content != null) {
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(content.length).array());
        digest.update(content);
      }
    }
    return digest.digest();
  }

  @Override
  public void close() {
    // A check under way ends as it would (not interrupted part way through its reads).
    timer.shutdown();
    try {
      if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("the CA files check did not stop within 10s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
