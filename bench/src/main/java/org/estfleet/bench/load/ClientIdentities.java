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
  /**
   * A client certificate, its key and the subject its re-enrollment CSRs carry; {@code chain} is
   * the certificate and the CA certificates up to (not including) its root, as TLS presents it.
   */
  record Identity(X500Name subject, PrivateKey key, List<X509Certificate> chain) {
    Identity {
      chain = List.copyOf(chain);
    }

    X509Certificate certificate() {
      return chain.get(0);
    }
  }

  /**
   * {@code leaf} and, from {@code candidates}, the CA certificates that chain it up to a root,
   * the root left out (the server holds it); each link by name and signature. It stops at the
   * first certificate a root among {@code candidates} signed, so that a root rollover's link
   * certificates in {@code /cacerts} are not taken for intermediates.
   */
  static List<X509Certificate> chainOf(X509Certificate leaf, java.util.Collection<X509Certificate> candidates) {
    List<X509Certificate> chain = new ArrayList<>(List.of(leaf));
    for (X509Certificate current = leaf; chain.size() < 10; ) {
      X509Certificate from = current;
      boolean underARoot = candidates.stream().anyMatch(root -> root.getSubjectX500Principal()
          .equals(root.getIssuerX500Principal()) && root.getSubjectX500Principal().equals(from.getIssuerX500Principal())
          && org.estfleet.pki.Certificates.isSignedBy(from, root.getPublicKey()));
      if (underARoot) {
        break;
      }
      X509Certificate issuer = null;
      for (X509Certificate candidate : candidates) {
        if (!chain.contains(candidate) && candidate.getBasicConstraints() >= 0
            && !candidate.getSubjectX500Principal().equals(candidate.getIssuerX500Principal())
            && candidate.getSubjectX500Principal().equals(current.getIssuerX500Principal())
            && org.estfleet.pki.Certificates.isSignedBy(current, candidate.getPublicKey())) {
          issuer = candidate;
          break;
        }
      }
      if (issuer == null) {
        break;
      }
      chain.add(issuer);
      current = issuer;
    }
    return chain;
  }



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
      credentials.add(new ClientKeyManager.Credential(identity.key(), identity.chain()));
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
