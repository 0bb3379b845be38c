package org.estfleet.server.store;

/** The database failed (locked beyond the timeout, disk full, corrupt). Nothing was written. */
public final class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
