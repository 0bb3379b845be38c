package org.estfleet.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** est-load's connection against a real est-server over TLS on 127.0.0.1, on both TLS providers. */
class HttpsConnectionTest {
  @TempDir
  Path dir;

  @Test
  void closedMeanwhile_falseForALiveConnection_thatStaysUsable_trueOnceTheServerClosedIt() throws Exception {
    for (String provider : List.of("SunJSSE", "BCJSSE")) {
      TestServer server = TestServer.start(dir.resolve("server-" + provider));
      HttpsConnection connection;
      try {
        // given: a kept-alive connection that has had one exchange
        connection = HttpsConnection.open(server.baseUri(), context(provider, server).getSocketFactory(),
            new String[] {"TLSv1.3"}, 5000);
        assertEquals(200, connection.exchange("GET", "/.well-known/est/cacerts", Map.of(), null).status());

        // when / then: the 1 ms read finds nothing, and leaves the connection usable
        assertFalse(connection.closedMeanwhile(), provider);
        assertEquals(200, connection.exchange("GET", "/.well-known/est/cacerts", Map.of(), null).status(), provider);
      } finally {
        server.close();
      }
      // when the server is gone, then the same check finds the connection closed
      assertTrue(connection.closedMeanwhile(), provider);
      connection.close();
    }
  }

  private static SSLContext context(String provider, TestServer server) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    List<X509Certificate> roots = Pem.readCertificates(server.dataDir().resolve("ca/root.pem"));
    for (int i = 0; i < roots.size(); i++) {
      store.setCertificateEntry("root-" + i, roots.get(i));
    }
    boolean bc = provider.equals("BCJSSE");
    TrustManagerFactory trust = bc ? TrustManagerFactory.getInstance("PKIX", BouncyCastle.JSSE)
        : TrustManagerFactory.getInstance("PKIX");
    trust.init(store);
    SSLContext context = bc ? SSLContext.getInstance("TLS", BouncyCastle.JSSE) : SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), new SecureRandom());
    return context;
  }
}
