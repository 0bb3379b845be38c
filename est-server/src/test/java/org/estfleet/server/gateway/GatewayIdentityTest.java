package org.estfleet.server.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A gateway certificate renewal interrupted between its file writes is completed at the next start. */
class GatewayIdentityTest {
  @TempDir
  Path dir;

  private final TestPki.Ca ca = TestPki.rootCa("Test Root");
  @Test
  void recover_newKeyWithOldCertificate_takesTheStagedCertificate() throws Exception {
    Path certificateFile = dir.resolve("server.pem");
    Path keyFile = dir.resolve("server.key");
    TestPki.Held old = ca.issueClient("gateway-1");
    TestPki.Held renewed = ca.issueClient("gateway-1");
    write(certificateFile, Pem.encode(List.of(old.certificate())));
    write(dir.resolve("server.pem.new"), Pem.encode(List.of(renewed.certificate())));
    write(keyFile, Pem.encodePrivateKey(renewed.privateKey()));

    GatewayIdentity.recover(certificateFile, keyFile);

    assertEquals(renewed.certificate(), Pem.readCertificates(certificateFile).get(0));
    assertFalse(Files.exists(dir.resolve("server.pem.new")));
  }

  @Test
  void recover_keyStillOld_keepsTheCertificateAndDropsTheStagedOne() throws Exception {
    Path certificateFile = dir.resolve("server.pem");
    Path keyFile = dir.resolve("server.key");
    TestPki.Held old = ca.issueClient("gateway-1");
    TestPki.Held renewed = ca.issueClient("gateway-1");
    write(certificateFile, Pem.encode(List.of(old.certificate())));
    write(dir.resolve("server.pem.new"), Pem.encode(List.of(renewed.certificate())));
    write(keyFile, Pem.encodePrivateKey(old.privateKey()));

    GatewayIdentity.recover(certificateFile, keyFile);

    assertEquals(old.certificate(), Pem.readCertificates(certificateFile).get(0));
    assertFalse(Files.exists(dir.resolve("server.pem.new")));
  }

  private static void write(Path file, String text) throws Exception {
    Files.writeString(file, text, StandardCharsets.US_ASCII);
  }
}
