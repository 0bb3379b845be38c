package org.estfleet.server.audit;

import com.google.gson.JsonObject;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: one JSON object per line for each security-relevant event (every enrollment
 * answer: issued, deferred, refused with its reason, rate-limited; and the operator's commands
 * that change who may enroll: tokens made, revocations, root rollovers), apart from the debug
 * log, for a SIEM to read. Never holds keys, CSRs, tokens or passwords.
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);

  private final BufferedWriter out;
  private final Clock clock;

  private AuditLog(BufferedWriter out, Clock clock) {
    this.out = out;
    this.clock = clock;
  }

  /** Appends to {@code file}, creating it (mode 0600 as the process's umask allows) if needed. */
  public static AuditLog open(Path file, Clock clock) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    return new AuditLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND, StandardOpenOption.WRITE), clock);
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
    // One write(2) of the whole line, so that the server's lines and an operator command's, appended
    // to the same file, never interleave: a line fits the writer's 8 KB buffer (reasons are cut at
    // 1,000 characters, identities at 1,024).
    out.write(line + "\n");
    out.flush();
  }

  @Override
  public synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      LOG.warn("closing the audit log failed: {}", e.getMessage());
    }
  }
}
