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
   * The role of the holder of certificate {@code serial} issued to {@code identity}; empty when
   * there is no such record.
   */
  Optional<Role> roleOf(String serial, String identity);
}
