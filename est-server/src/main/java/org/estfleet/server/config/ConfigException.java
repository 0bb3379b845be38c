package org.estfleet.server.config;

/**
 * The data directory or its configuration cannot be used: missing, unreadable, or holding a
 * value that is not allowed. The message names the file and the problem; the command line turns
 * it into exit code 2.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
