package org.estfleet.server.audit;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.estfleet.io.AtomicFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: one JSON object per line for each security-relevant event (every enrollment
 * answer: issued, deferred, refused with its reason, rate-limited, misdirected; and the
 * operator's commands that change who may enroll: tokens made, revocations, root rollovers),
 * apart from the debug log, for a SIEM to read. Never holds keys, CSRs, tokens or passwords.
 *
 * <p>Rotation by renaming the file needs no signal: before each line the file at the path is
 * compared with the one open, and a new one is made there when it was moved away. A file made
 * here is private (0600) and belongs to the data directory's owner where the process may give it
 * away (root running an operator command for a server that runs as another user).
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);

  private final Path file;
  private final Clock clock;
  private FileChannel out;
  /** The identity of the open file (device and inode), or null where the platform has none. */
  private Object fileKey;

  private AuditLog(Path file, Clock clock) {
    this.file = file;
    this.clock = clock;
  }

  /** Appends to {@code file}, making it if needed. */
  public static AuditLog open(Path file, Clock clock) throws IOException {
    Path absolute = file.toAbsolutePath();
    Files.createDirectories(absolute.getParent());
    AuditLog log = new AuditLog(absolute, clock);
    log.reopen();
    return log;
  }

  private void reopen() throws IOException {
    if (out != null) {
      out.close();
      out = null;
    }
    boolean made = false;
    FileChannel channel;
    try {
      channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND), PosixFilePermissions.asFileAttribute(AtomicFile.PRIVATE));
      made = true;
    } catch (FileAlreadyExistsException exists) {
      channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (UnsupportedOperationException notPosix) {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }
    if (made) {
      try {
        Files.setOwner(file, Files.getOwner(file.getParent()));
      } catch (IOException | UnsupportedOperationException notPermitted) {
        // Made by the user that runs us, as any file we make.
      }
    }
    out = channel;
    fileKey = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
  }

  /** Whether the path no longer names the open file (renamed away by a rotation, deleted). */
  private boolean moved() throws IOException {
    if (out == null) {
      return true;
    }
    if (fileKey == null) {
      return false; // no way to tell on this platform
    }
    try {
      return !Objects.equals(fileKey, Files.readAttributes(file, BasicFileAttributes.class).fileKey());
    } catch (NoSuchFileException deleted) {
      return true;
    }
  }

  /**
   * Writes one event.
   *
   * @param fields its details; null values are left out
   */
  public synchronized void record(String event, Map<String, ?> fields) {
    try {
      write(event, fields);
    } catch (IOException e) {
      // The answer to the client must not depend on the audit file; the debug log says it failed.
      LOG.error("cannot write the audit log: {}", e.getMessage());
    }
  }

  /**
   * Writes one event, or says why it could not: for the operator's commands, which report it
   * instead of a client's answer depending on it.
   */
  public synchronized void write(String event, Map<String, ?> fields) throws IOException {
    JsonObject line = new JsonObject();
    line.addProperty("time", clock.instant().toString());
    line.addProperty("event", event);
    fields.forEach((name, value) -> {
      if (value instanceof Number number) {
        line.addProperty(name, number);
      } else if (value instanceof Boolean bool) {
        line.addProperty(name, bool);
      } else if (value != null) {
        line.addProperty(name, value.toString());
      }
    });
    if (moved()) {
      reopen();
    }
    // One write(2) of the whole line (O_APPEND), so that the server's lines and an operator
    // command's, appended to the same file, never interleave.
    ByteBuffer bytes = StandardCharsets.UTF_8.encode(line + "\n");
    while (bytes.hasRemaining()) {
      out.write(bytes);
    }
  }

  @Override
  public synchronized void close() {
    if (out == null) {
      return;
    }
    try {
      out.close();
    } catch (IOException e) {
      LOG.warn("closing the audit log failed: {}", e.getMessage());
    }
  }
}
