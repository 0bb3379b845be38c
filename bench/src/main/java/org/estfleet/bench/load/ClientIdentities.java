package org.estfleet.bench.load;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.est.client.ClientKeyManager;

/**
 * One worker's client certificates and the key manager that presents the one chosen for the
 * worker's next connection. A worker with more identities than one moves to the next at each new
 * connection, so the server validates a certificate it may not have seen for a while, as it does
 * when a fleet's devices renew; one TLS context per worker still serves all of them.
 */
final class ClientIdentities {
  /** A client certificate, its key and the subject its re-enrollment CSRs carry. */
  record Identity(X500Name subject, PrivateKey key, X509Certificate certificate) {}

  private final List<Identity> identities;
  private final ClientKeyManager keyManager;
  private int current;
  private boolean used;

  ClientIdentities(List<Identity> identities) {
    if (identities.isEmpty()) {
      throw new IllegalArgumentException("a worker needs at least one client identity");
    }
    this.identities = List.copyOf(identities);
    List<ClientKeyManager.Credential> credentials = new ArrayList<>();
    for (Identity identity : identities) {
      credentials.add(new ClientKeyManager.Credential(identity.key(), List.of(identity.certificate())));
    }
    this.keyManager = new ClientKeyManager(credentials);
  }

  /** The key manager of the worker's TLS context. */
  ClientKeyManager keyManager() {
    return keyManager;
  }

  /** The identity of the connection opened last (or about to be opened). */
  Identity current() {
    return identities.get(current);
  }

  /**
   * Chooses the identity of a new connection: the first one the first time, then the next in
   * turn. Called by the worker's thread only (the phases' threads one after another).
   */
  Identity forNewConnection() {
    if (used) {
      current = (current + 1) % identities.size();
      keyManager.select(current);
    }
    used = true;
    return current();
  }
}
