package org.estfleet.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Pem;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's commands, run as written: the curl + openssl enrollment against a real server, and
 * the first command ({@code demo.sh}) itself.
 */
class ReadmeTest {
  @TempDir
  Path work;

  @Test
  void curlAndOpensslBlock_enrollsAndRenewsADevice() throws Exception {
    // The block expects the project's layout around it: est-server/target and demo/server.
    Files.createSymbolicLink(work.resolve("est-server"), Project.ROOT.resolve("est-server"));
    Project.jar("est-server/target/est-server.jar");
    try (TestServer server = TestServer.start(work.resolve("demo/server"))) {
      String block = Project.readmeBlock("curl-openssl").replace("localhost:8443", "localhost:" + server.port());

      Project.Result result = Project.run(work, List.of("bash", "-euo", "pipefail", "-c", block), Map.of(), 120);

      assertEquals(0, result.exit(), result.out() + result.err());
      X509Certificate first = Pem.readCertificates(work.resolve("device/device.pem")).get(0);
      X509Certificate renewed = Pem.readCertificates(work.resolve("device/new.pem")).get(0);
      assertEquals("CN=device-1", first.getSubjectX500Principal().getName());
      assertEquals("CN=device-1", renewed.getSubjectX500Principal().getName());
      assertTrue(!first.getPublicKey().equals(renewed.getPublicKey()), "renewal used the new key");
      assertEquals("token", server.ledger(l -> l.find(Certificates.serialHex(first))).orElseThrow().authMethod());
      assertEquals("certificate", server.ledger(l -> l.find(Certificates.serialHex(renewed))).orElseThrow().authMethod());
      // The server-generated key: its certificate recorded as any token enrollment.
      X509Certificate generated = Pem.readCertificates(work.resolve("device/device-2.pem")).get(0);
      assertEquals("CN=device-2", generated.getSubjectX500Principal().getName());
      assertEquals("token", server.ledger(l -> l.find(Certificates.serialHex(generated))).orElseThrow().authMethod());
      // Then revoked: the renewal after it was refused, saying why.
      assertTrue(Files.readString(work.resolve("device/refused.txt")).startsWith("client certificate serial "
          + Certificates.serialHex(renewed) + " was revoked at "), Files.readString(work.resolve("device/refused.txt")));
    }
  }

  @Test
  void gatewayBlock_setsUpAGatewayAndEnrollsADeviceThroughIt() throws Exception {
    Files.createSymbolicLink(work.resolve("est-server"), Project.ROOT.resolve("est-server"));
    Files.createSymbolicLink(work.resolve("renewal-agent"), Project.ROOT.resolve("renewal-agent"));
    Project.jar("est-server/target/est-server.jar");
    Project.jar("renewal-agent/target/renewal-agent.jar");
    int gatewayPort;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      gatewayPort = probe.getLocalPort();
    }
    try (TestServer ca = TestServer.start(work.resolve("demo/server"))) {
      String block = Project.readmeBlock("gateway")
          .replace("localhost:8443", "localhost:" + ca.port())
          .replace("9443", Integer.toString(gatewayPort))
          // The block leaves the gateway running, as a reader would; the test stops it.
          + "\nkill $GATEWAY; wait $GATEWAY || true\n";

      Project.Result result = Project.run(work, List.of("bash", "-euo", "pipefail", "-c", block), Map.of(), 180);

      assertEquals(0, result.exit(), result.out() + result.err());
      assertTrue(result.out().contains("\"mode\": \"gateway\"") || result.out().contains("\"mode\":\"gateway\""),
          result.out());
      X509Certificate device = Pem.readCertificates(work.resolve("demo/device-2/cert.pem")).get(0);
      assertEquals("CN=device-2", device.getSubjectX500Principal().getName());
      assertEquals("gateway-1",
          ca.ledger(l -> l.find(Certificates.serialHex(device))).orElseThrow().forwardedBy());
    }
  }

  @Test
  void demoScript_enrollsAndRenewsWithTheAgent() throws Exception {
    Project.jar("est-server/target/est-server.jar");
    Project.jar("renewal-agent/target/renewal-agent.jar");

    Project.Result result = Project.run(Project.ROOT, List.of("bash", "demo.sh", "--once"),
        Map.of("SKIP_BUILD", "1", "PORT", "0", "DEMO_DIR", work.resolve("demo").toString()), 180);

    assertEquals(0, result.exit(), result.out() + result.err());
    assertTrue(result.out().contains("enrolled: serial"), result.out());
    assertTrue(result.out().contains("renewed: serial"), result.out());
    X509Certificate current = Pem.readCertificates(work.resolve("demo/device-1/cert.pem")).get(0);
    X509Certificate previous = Pem.readCertificates(work.resolve("demo/device-1/cert.pem.prev")).get(0);
    assertEquals("CN=device-1", current.getSubjectX500Principal().getName());
    assertTrue(!current.getSerialNumber().equals(previous.getSerialNumber()), "renewed by the agent");
  }
}
