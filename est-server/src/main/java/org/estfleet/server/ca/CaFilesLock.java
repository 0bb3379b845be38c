package org.estfleet.server.ca;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.estfleet.server.config.DataDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may read or change a CA's files: {@code est-server rollover} and {@code retire-root} hold it
 * exclusively while they write, a running server shared while it reads them ({@link CaReloader}),
 * so that the server never takes up half of a change. A lock on {@code ca/.lock} between
 * processes, and a lock in this JVM, where file locks do not exclude each other (a command run in
 * the server's process, as the tests do) and may not overlap.
 *
 * <p>Where a server cannot open or create the lock file (a {@code ca/} directory it may not write,
 * a lock file another user made), it reads the files at its start without it, as before there was
 * a lock, and takes up no change while it runs: reading may complete an interrupted retire-root,
 * which must never race a running one.
 */
final class CaFilesLock implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CaFilesLock.class);
  private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

  private final ReentrantLock local;
  private final FileChannel channel;
  private final FileLock lock;

  private CaFilesLock(ReentrantLock local, FileChannel channel, FileLock lock) {
    this.local = local;
    this.channel = channel;
    this.lock = lock;
  }

  /** Waits for the lock, exclusively: for the commands, which change the files. */
  static CaFilesLock acquire(DataDir dataDir) throws IOException {
    Path file = file(dataDir);
    ReentrantLock local = local(file);
    local.lock();
    FileChannel channel = null;
    try {
      Files.createDirectories(file.getParent());
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      return new CaFilesLock(local, channel, channel.lock());
    } catch (IOException | RuntimeException e) {
      release(local, channel);
      throw e;
    }
  }

  /**
   * Waits for the lock, shared: for a server reading the files at its start. Without a usable lock
   * file it reads without the file lock, and says so.
   */
  static CaFilesLock acquireShared(DataDir dataDir) throws IOException {
    Path file = file(dataDir);
    ReentrantLock local = local(file);
    local.lock();
    FileChannel channel = null;
    try {
      try {
        channel = openForReading(file);
      } catch (IOException e) {
        LOG.warn("{}; reading the CA's files without it at this start, and taking up no rollover or retire-root "
            + "until the next", e.getMessage());
        return new CaFilesLock(local, null, null);
      }
      return new CaFilesLock(local, channel, channel.lock(0, Long.MAX_VALUE, true));
    } catch (IOException | RuntimeException e) {
      release(local, channel);
      throw e;
    }
  }

  /**
   * The shared lock if it is free now: a server's check does not wait for a command, it looks
   * again later.
   *
   * @throws IOException if the lock file cannot be opened or made: the check takes up nothing
   */
  static Optional<CaFilesLock> tryAcquireShared(DataDir dataDir) throws IOException {
    Path file = file(dataDir);
    ReentrantLock local = local(file);
    if (!local.tryLock()) {
      return Optional.empty();
    }
    FileChannel channel = null;
    try {
      channel = openForReading(file);
      FileLock lock = channel.tryLock(0, Long.MAX_VALUE, true);
      if (lock == null) {
        release(local, channel);
        return Optional.empty();
      }
      return Optional.of(new CaFilesLock(local, channel, lock));
    } catch (IOException | RuntimeException e) {
      release(local, channel);
      throw e;
    }
  }

  /** This JVM's lock of {@code file}; never taken twice by one thread, whose file locks would overlap. */
  private static ReentrantLock local(Path file) {
    ReentrantLock local = IN_PROCESS.computeIfAbsent(file, f -> new ReentrantLock());
    if (local.isHeldByCurrentThread()) {
      throw new IllegalStateException("this thread holds the lock of " + file + " already");
    }
    return local;
  }

  /** {@code ca/.lock}, by the directory's real path: one in-JVM lock per directory, whatever the links. */
  private static Path file(DataDir dataDir) {
    Path directory = dataDir.resolve(dataDir.config().ca().rootCertificate()).toAbsolutePath().normalize().getParent();
    try {
      directory = directory.toRealPath();
    } catch (IOException e) {
      // Not there yet: the normalized path names it.
    }
    return directory.resolve(".lock");
  }

  /** The lock file opened for reading, made first if missing. */
  private static FileChannel openForReading(Path file) throws IOException {
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(file.getParent());
        FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE).close();
      }
      return FileChannel.open(file, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new IOException("cannot open the CA files' lock " + file + " (" + e + ")", e);
    }
  }

  private static void release(ReentrantLock local, FileChannel channel) {
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      // Closing releases the lock; nothing else to do.
    } finally {
      local.unlock();
    }
  }

  @Override
  public void close() {
    try {
      if (lock != null) {
        lock.release();
      }
    } catch (IOException e) {
      // The channel's close below releases it too.
    }
    release(local, channel);
  }
}
