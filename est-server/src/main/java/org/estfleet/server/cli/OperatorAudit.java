package org.estfleet.server.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import org.estfleet.server.ServerRuntime;
import org.estfleet.server.audit.AuditLog;
import org.estfleet.server.config.DataDir;

/**
 * The audit lines of the operator's commands that change who may enroll (tokens made,
 * revocations, root rollovers), appended to the data directory's {@code audit.log} beside a
 * running server's enrollment lines, once what they record is stored. Each names the operating
 * system user who ran the command ({@code by}) and, run through sudo, the user who ran sudo
 * ({@code sudoUser}). A line that cannot be written does not undo what was done: the command
 * says so on stderr and still succeeds.
 */
final class OperatorAudit implements AutoCloseable {
  private final PrintWriter err;
  private final String by = processOwner();
  private AuditLog log;
  private boolean failed;

  private OperatorAudit(DataDir dataDir, PrintWriter err) {
    this.err = err;
    try {
      log = AuditLog.open(dataDir.resolve(ServerRuntime.AUDIT_FILE), Clock.systemUTC());
    } catch (IOException | RuntimeException e) {
      warn(e);
    }
  }

  /** Opens the data directory's audit log for appending; warns on {@code err} if it cannot. */
  static OperatorAudit open(DataDir dataDir, PrintWriter err) {
    return new OperatorAudit(dataDir, err);
  }

  /** An empty line's fields, kept in the order they are added. */
  static Map<String, Object> fields() {
    return new LinkedHashMap<>();
  }

  /**
   * Writes one line: {@code event}, {@code by}, {@code sudoUser} if any, then {@code fields}
   * (null values left out).
   */
  void record(String event, Map<String, ?> fields) {
    if (log == null) {
      return; // said once, when it could not be opened
    }
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("by", by);
    line.put("sudoUser", System.getenv("SUDO_USER"));
    line.putAll(fields);
    try {
      log.write(event, line);
    } catch (IOException e) {
      warn(e);
    }
  }

  /**
   * The user the process runs as: the owner of {@code /proc/self} on Linux (which a
   * {@code -Duser.name} does not change), else the JVM's {@code user.name}.
   */
  private static String processOwner() {
    try {
      return Files.getOwner(Path.of("/proc/self")).getName();
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return System.getProperty("user.name", "");
    }
  }

  private void warn(Exception e) {
    if (!failed) {
      failed = true;
      err.println("est-server: warning: " + ServerRuntime.AUDIT_FILE + " cannot be written ("
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
          + "); what this command changes is not recorded there");
    }
  }

  @Override
  public void close() {
    if (log != null) {
      log.close();
    }
  }
}
