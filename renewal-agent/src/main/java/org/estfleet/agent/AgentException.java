package org.estfleet.agent;

/**
 * A failure the agent reports with one line and an exit code: 2 bad usage or configuration, 3 not
 * enrolled or certificate expired, 1 anything else.
 */
public final class AgentException extends Exception {
  private static final long serialVersionUID = 1L;

  public static final int FAILURE = 1;
  public static final int USAGE = 2;
  public static final int NOT_ENROLLED = 3;

  private final int exitCode;

  private AgentException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** Bad usage or configuration: exit code 2. */
  public static AgentException usage(String message) {
    return new AgentException(USAGE, message, null);
  }

  public static AgentException usage(String message, Throwable cause) {
    return new AgentException(USAGE, message, cause);
  }

  /** Not enrolled, or the certificate expired: exit code 3. */
  public static AgentException notEnrolled(String message) {
    return new AgentException(NOT_ENROLLED, message, null);
  }

  /** Anything else: exit code 1. */
  public static AgentException failure(String message, Throwable cause) {
    return new AgentException(FAILURE, message, cause);
  }

  public static AgentException failure(String message) {
    return new AgentException(FAILURE, message, null);
  }

  public int exitCode() {
    return exitCode;
  }
}
