package org.estfleet.server.store;

import java.util.Locale;

/** What the holder of a certificate or token is to this CA. */
public enum Role {
  /** A device: enrolls for its own identity. */
  DEVICE,
  /**
   * A gateway (registration authority, RFC 7030 section 3.7): its certificate carries EKU
   * {@code id-kp-cmcRA} and it may forward requests for devices it authenticated.
   */
  GATEWAY,
  /** This server's own TLS certificate, issued by {@code est-server init}. */
  SERVER;

  /** The name stored in the database and shown in logs. */
  public String column() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Role of(String column) {
    return valueOf(column.toUpperCase(Locale.ROOT));
  }
}
