package org.estfleet.server.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.estfleet.est.client.CsrAttrsOutcome;
import org.estfleet.est.client.EstClient;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project's EST client (the agent's, the gateway's) on {@code /csrattrs} against est-server
 * over TLS on 127.0.0.1: a 404 means "no attributes" (RFC 7030 section 4.5.2), as Bouncy Castle
 * reads it, also when it carries a body (which the client reads first, so that Bouncy Castle's
 * close of the answer does not fail on it).
 */
class EstClientCsrAttrsTest {
  @TempDir
  Path dir;

  private TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir, "{\"labels\": {\"factory\": {}}}");
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void aKnownLabelsAttributesAreFetched_a404IsNoAttributes() throws Exception {
    EstClient client = new EstClient(Duration.ofSeconds(5), Duration.ofSeconds(5), Clock.systemUTC(), new SecureRandom());
    List<X509Certificate> anchors = Pem.readCertificates(server.dataDir().resolve("ca/root.pem"));

    CsrAttrsOutcome known = client.csrAttributes(server.baseUri(), "factory", anchors);
    CsrAttrsOutcome unknown = client.csrAttributes(server.baseUri(), "nosuch", anchors);

    assertTrue(known instanceof CsrAttrsOutcome.Fetched fetched && fetched.der().isPresent(), known.toString());
    assertTrue(unknown instanceof CsrAttrsOutcome.Fetched, "a 404 with its body: " + unknown);
    assertEquals(Optional.empty(), ((CsrAttrsOutcome.Fetched) unknown).der());
  }
}
