package org.estfleet.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files that must survive a crash or power loss whole or not at all: write a temporary
 * file beside the target, fsync it, rename it over the target, fsync the directory. A reader
 * sees the old content or the new, never a mix; after the call returns the new content is on
 * disk.
 */
public final class AtomicFile {
  /** Owner read/write only: private keys, tokens, state. */
  public static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
  /** Readable by all: certificates, configuration. */
  public static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
  /** The most a directory made here allows (the umask may take more away). */
  private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwxr-xr-x");

  private AtomicFile() {}

  /**
   * Replaces {@code target} with {@code content}, created with {@code permissions} (where the
   * file system has POSIX permissions) before any byte is written.
   */
  public static void write(Path target, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path directory = absolute.getParent();
    createDirectories(directory);
    Path temporary = directory.resolve("." + absolute.getFileName() + ".tmp-"
        + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    try {
      try (FileChannel channel = FileChannel.open(temporary, Set.of(StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE), attributes(permissions))) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        channel.force(true);
      }
      Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      try {
        syncDirectory(directory);
      } catch (IOException e) {
        throw new WriteFailure(absolute, "written, but its directory could not be flushed to disk ("
            + IoMessages.reason(e) + ")", e);
      }
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot replace " + absolute + " atomically on this file system", e);
    } catch (WriteFailure e) {
      throw e;
    } catch (IOException e) {
      // A full disk's error names no file, and the others name the temporary one: the message
      // names the file being written, which is what the reader knows.
      throw new WriteFailure(absolute, IoMessages.reason(e), e);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /**
   * A write that failed: {@code cannot write FILE: REASON}, with {@link #reason()} alone for a
   * message that names the file itself.
   */
  public static final class WriteFailure extends IOException {
    private final String reason;

    WriteFailure(Path file, String reason, Throwable cause) {
      super("cannot write " + file + ": " + reason, cause);
      this.reason = reason;
    }

    /** What went wrong, without the file. */
    public String reason() {
      return reason;
    }
  }

  /**
   * Flushes a directory's entries (a rename or a new file) to disk. Where the platform cannot
   * open a directory for this (Windows), the rename is as durable as the file system makes it.
   */
  public static void syncDirectory(Path directory) throws IOException {
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      if (isPosix()) {
        throw e;
      }
    }
  }

  /**
   * Creates {@code directory} and its missing parents, none writable by group or others whatever
   * the umask (a umask of 002 would make them group-writable): who may replace a file in them
   * is the owner alone.
   */
  public static void createDirectories(Path directory) throws IOException {
    Files.createDirectories(directory, attributes(DIRECTORY));
  }

  /**
   * The attributes that create a file with {@code permissions} where the file system has POSIX
   * permissions (the umask may take more away), none elsewhere.
   */
  public static FileAttribute<?>[] attributes(Set<PosixFilePermission> permissions) {
    return isPosix()
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
        : new FileAttribute<?>[0];
  }

  private static boolean isPosix() {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  }
}
