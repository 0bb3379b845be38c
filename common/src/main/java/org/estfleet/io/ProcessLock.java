package org.estfleet.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A file lock a process holds for as long as it runs a long-lived role on a directory (a daemon
 * on its state, a server on its data), with its process id written in the file for the messages
 * of those it keeps out. The operating system releases it when the process ends, however it ends:
 * a lock file left behind never blocks anyone.
 *
 * <p>POSIX locks belong to a process and a file, and closing any channel on the file drops them:
 * this process's own holds are therefore remembered, and a file it holds is never opened again
 * here, neither to lock it nor to read the holder's id. A file system without locks (ENOLCK)
 * makes {@link #tryHold} throw; callers decide whether to go on without.
 */
public final class ProcessLock implements AutoCloseable {
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private ProcessLock(Path file, FileChannel channel, FileLock lock) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes {@code file}'s lock (creating the file) and writes this process's id in it.
   *
   * @return empty if another process, or this one, holds it
   */
  public static Optional<ProcessLock> tryHold(Path file) throws IOException {
    Path key = key(file);
    if (!HELD.add(key)) {
      return Optional.empty();
    }
    FileChannel channel = null;
    try {
      // Created rw-r--r-- whatever the umask: its content (a process id) is for reading.
      channel = FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE), AtomicFile.attributes(AtomicFile.PUBLIC));
      FileLock lock = channel.tryLock();
      if (lock == null) {
        channel.close();
        HELD.remove(key);
        return Optional.empty();
      }
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
      channel.force(false);
      return Optional.of(new ProcessLock(key, channel, lock));
    } catch (IOException | OverlappingFileLockException | Error e) {
      if (channel != null) {
        channel.close();
      }
      HELD.remove(key);
      if (e instanceof OverlappingFileLockException) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Whether this process holds {@code file}'s lock (through {@link #tryHold}). */
  public static boolean heldHere(Path file) {
    try {
      return HELD.contains(key(file));
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The process id a holder wrote in {@code file}, if that process lives: the holder may not have
   * written its own yet, and the file keeps the last holder's after it ended. This process's own,
   * without reading the file, if it holds it: opening the file would drop its lock.
   */
  public static Optional<Long> holder(Path file) {
    if (heldHere(file)) {
      return Optional.of(ProcessHandle.current().pid());
    }
    try {
      String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (!text.matches("[0-9]{1,18}")) {
        return Optional.empty();
      }
      long pid = Long.parseLong(text);
      return ProcessHandle.of(pid).isPresent() ? Optional.of(pid) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty(); // no holder to name (no file, or one that cannot be read)
    }
  }

  /** " (pid N)" naming the live holder of {@code file}, or "" when none can be named. */
  public static String describeHolder(Path file) {
    return holder(file).map(pid -> " (pid " + pid + ")").orElse("");
  }

  /** Releases the lock (the file stays, with this process's id in it). */
  @Override
  public void close() {
    try {
      try {
        lock.release();
      } finally {
        channel.close(); // releases it in any case
      }
    } catch (IOException e) {
      // nothing to do: the process's end releases it anyway
    } finally {
      HELD.remove(file);
    }
  }

  private static Path key(Path file) throws IOException {
    Path absolute = file.toAbsolutePath().normalize();
    Path parent = absolute.getParent();
    // The directory's real path: one directory reached through a link is one lock.
    return parent != null && Files.isDirectory(parent) ? parent.toRealPath().resolve(absolute.getFileName()) : absolute;
  }
}
