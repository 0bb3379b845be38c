package org.estfleet.server.auth;

/** How a client authenticated, as recorded with each certificate issued. */
public enum AuthMethod {
  /** A one-time bootstrap token, sent as HTTP Basic {@code deviceId:token}. */
  TOKEN("token"),
  /** A manufacturer-installed device certificate (IDevID) from a configured manufacturer CA. */
  IDEVID("idevid"),
  /** A currently valid certificate this server issued. */
  CERTIFICATE("certificate");

  private final String recordedName;

  AuthMethod(String recordedName) {
    this.recordedName = recordedName;
  }

  /** The name stored in the ledger and shown in logs. */
  public String recordedName() {
    return recordedName;
  }
}
