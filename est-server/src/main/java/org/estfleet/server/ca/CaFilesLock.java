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

/**
 * Who may read or change a CA's files: {@code est-server rollover} and {@code retire-root} hold it
 * while they write, a running server while it reads them again ({@link CaReloader}), so that the
 * server never takes up half of a change. A lock on {@code ca/.lock} between processes, and a
 * lock in this JVM, where file locks do not exclude each other (a command run in the server's
 * process, as the tests do).
 */
final class CaFilesLock implements AutoCloseable {
  private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

  private final ReentrantLock local;
  private final FileChannel channel;
  private final FileLock lock;

  private CaFilesLock(ReentrantLock local, FileChannel channel, FileLock lock) {
    this.local = local;
    this.channel = channel;
    this.lock = lock;
  }

  /** Waits for the lock: for the commands, which must not run beside each other either. */
  static CaFilesLock acquire(DataDir dataDir) throws IOException {
    Path file = file(dataDir);
    ReentrantLock local = local(file);
    local.lock();
    FileChannel channel = null;
    try {
      channel = open(file);
      return new CaFilesLock(local, channel, channel.lock());
    } catch (IOException | RuntimeException e) {
      release(local, channel);
      throw e;
    }
  }

  /** The lock if it is free now: a server's check does not wait for a command, it looks again later. */
  static Optional<CaFilesLock> tryAcquire(DataDir dataDir) throws IOException {
    Path file = file(dataDir);
    ReentrantLock local = local(file);
    if (!local.tryLock()) {
      return Optional.empty();
    }
    FileChannel channel = null;
    try {
      channel = open(file);
      FileLock lock = channel.tryLock();
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

  /** This JVM's lock of {@code file}; never taken twice by one thread, whose file lock would overlap. */
  private static ReentrantLock local(Path file) {
    ReentrantLock local = IN_PROCESS.computeIfAbsent(file, f -> new ReentrantLock());
    if (local.isHeldByCurrentThread()) {
      throw new IllegalStateException("this thread holds the lock of " + file + " already");
    }
    return local;
  }

  private static Path file(DataDir dataDir) {
    Path directory = dataDir.resolve(dataDir.config().ca().rootCertificate()).toAbsolutePath().getParent();
    return directory.resolve(".lock").normalize();
  }

  private static FileChannel open(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
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
      lock.release();
    } catch (IOException e) {
      // The channel's close below releases it too.
    }
    release(local, channel);
  }
}
