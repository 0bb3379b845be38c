package org.estfleet.bench.load;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.x500.X500Name;

/**
 * One worker's client certificates, as a TLS key manager that presents the one chosen for the
 * worker's next connection. A worker with more identities than one moves to the next at each new
 * connection, so the server validates a certificate it may not have seen for a while, as it does
 * when a fleet's devices renew; one TLS context per worker still serves all of them.
 */
final class ClientIdentities extends X509ExtendedKeyManager {
  /** A client certificate, its key and the subject its re-enrollment CSRs carry. */
  record Identity(X500Name subject, PrivateKey key, X509Certificate certificate) {}

  private static final String ALIAS_PREFIX = "identity-";

  private final List<Identity> identities;
  private volatile int current;
  private boolean used;

  ClientIdentities(List<Identity> identities) {
    if (identities.isEmpty()) {
      throw new IllegalArgumentException("a worker needs at least one client identity");
    }
    this.identities = List.copyOf(identities);
  }

  /** The identity of the connection opened last (or about to be opened). */
  Identity current() {
    return identities.get(current);
  }

  /** Chooses the identity of a new connection: the first one the first time, then the next in turn. */
  Identity forNewConnection() {
    if (used) {
      current = (current + 1) % identities.size();
    }
    used = true;
    return current();
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return ALIAS_PREFIX + current;
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return ALIAS_PREFIX + current;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String[] aliases = new String[identities.size()];
    for (int i = 0; i < aliases.length; i++) {
      aliases[i] = ALIAS_PREFIX + i;
    }
    return aliases;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Identity identity = byAlias(alias);
    return identity == null ? null : new X509Certificate[] {identity.certificate()};
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Identity identity = byAlias(alias);
    return identity == null ? null : identity.key();
  }

  private Identity byAlias(String alias) {
    if (alias == null || !alias.startsWith(ALIAS_PREFIX)) {
      return null;
    }
    try {
      int index = Integer.parseInt(alias.substring(ALIAS_PREFIX.length()));
      return index >= 0 && index < identities.size() ? identities.get(index) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return null;
  }
}
