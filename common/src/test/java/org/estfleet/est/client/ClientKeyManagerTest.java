package org.estfleet.est.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.cert.X509Certificate;
import java.util.List;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

class ClientKeyManagerTest {
  private final TestPki.Ca ca = TestPki.rootCa("Key Manager CA");
  private final TestPki.Held first = ca.issueClient("device-1");
  private final TestPki.Held second = ca.issueClient("device-2");
  private final ClientKeyManager keys = new ClientKeyManager(List.of(
      new ClientKeyManager.Credential(first.privateKey(), first.chain()),
      new ClientKeyManager.Credential(second.privateKey(), second.chain())));

  @Test
  void presentsTheSelectedCredentialWhateverTheServerAsksFor() {
    String before = keys.chooseClientAlias(new String[] {"RSA"}, null, null);
    keys.select(1);
    String after = keys.chooseEngineClientAlias(new String[] {"EC"}, null, null);

    assertSame(first.privateKey(), keys.getPrivateKey(before));
    assertSame(second.privateKey(), keys.getPrivateKey(after));
    assertArrayEquals(second.chain().toArray(X509Certificate[]::new), keys.getCertificateChain(after));
    assertEquals(2, keys.getClientAliases("EC", null).length);
  }

  @Test
  void neverServesAndRefusesUnknownAliasesAndSelections() {
    assertNull(keys.chooseServerAlias("EC", null, null));
    assertNull(keys.getServerAliases("EC", null));
    assertNull(keys.getPrivateKey("client-2"));
    assertNull(keys.getCertificateChain("other"));
    assertThrows(IndexOutOfBoundsException.class, () -> keys.select(2));
    assertThrows(IllegalArgumentException.class, () -> new ClientKeyManager(List.of()));
  }
}
