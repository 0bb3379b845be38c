package org.estfleet.server.auth;

import java.util.Optional;
import org.estfleet.server.store.Role;

/**
 * Whether a certificate that chains to the CA is one the CA stands behind: in CA mode, its
 * issuance record. A gateway has no records; the upstream checks its own when the gateway vouches
 * for the device.
 */
@FunctionalInterface
public interface IssuanceLookup {
  /**
   * What the records say of a certificate.
   *
   * @param role its holder's role
   * @param label the EST label it was issued under, {@code ""} for none; null where not known (a
   *     gateway, whose upstream checks it)
   * @param revoked why and when it was revoked ({@code est-server revoke}), or null
   */
  record Issuance(Role role, String label, String revoked) {
    /** Not revoked. */
    public Issuance(Role role, String label) {
      this(role, label, null);
    }
  }

  /**
   * The record of certificate {@code serial} issued to {@code identity}; empty when there is no
   * such record.
   */
  Optional<Issuance> find(String serial, String identity);

  /**
   * Why and when device {@code deviceId} was revoked as a whole ({@code est-server revoke
   * --device}), if it was: its manufacturer certificate no longer enrolls. None where not known (a
   * gateway, whose upstream checks it).
   */
  default Optional<String> deviceRevoked(String deviceId) {
    return Optional.empty();
  }
}
