package org.estfleet.est.client;

import java.net.Socket;
import java.security.PrivateKey;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A TLS client's key manager that presents the selected one of its client certificates whatever
 * issuers the server lists, as curl and most device clients do (the JDK's own key manager stays
 * silent for a foreign issuer, and the server then answers with a reason). It never serves.
 */
public final class ClientKeyManager extends X509ExtendedKeyManager {
  /** A private key and its certificate chain, the leaf first. */
  public record Credential(PrivateKey key, List<X509Certificate> chain) {
    public Credential {
      if (key == null || chain == null || chain.isEmpty()) {
        throw new IllegalArgumentException("a client credential needs a key and at least its certificate");
      }
      chain = List.copyOf(chain);
    }
  }

  private static final String ALIAS_PREFIX = "client-";

  private final List<Credential> credentials;
  private volatile int selected;

  /** Presents {@code credentials}' first until {@link #select} chooses another. */
  public ClientKeyManager(List<Credential> credentials) {
    if (credentials.isEmpty()) {
      throw new IllegalArgumentException("a client key manager needs at least one credential");
    }
    this.credentials = List.copyOf(credentials);
  }

  /** Presents {@code key} with {@code chain} (the leaf first). */
  public static ClientKeyManager of(PrivateKey key, List<X509Certificate> chain) {
    return new ClientKeyManager(List.of(new Credential(key, chain)));
  }

  /** The credential the next handshake presents: the {@code index}-th. */
  public void select(int index) {
    selected = Objects.checkIndex(index, credentials.size());
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return ALIAS_PREFIX + selected;
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return ALIAS_PREFIX + selected;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String[] aliases = new String[credentials.size()];
    for (int i = 0; i < aliases.length; i++) {
      aliases[i] = ALIAS_PREFIX + i;
    }
    return aliases;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Credential credential = byAlias(alias);
    return credential == null ? null : credential.chain().toArray(X509Certificate[]::new);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Credential credential = byAlias(alias);
    return credential == null ? null : credential.key();
  }

  private Credential byAlias(String alias) {
    if (alias == null || !alias.startsWith(ALIAS_PREFIX)) {
      return null;
    }
    try {
      int index = Integer.parseInt(alias.substring(ALIAS_PREFIX.length()));
      return index >= 0 && index < credentials.size() ? credentials.get(index) : null;
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
