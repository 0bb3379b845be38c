package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PemTest {
  private final TestPki.Ca root = TestPki.rootCa("Pem Root");
  private final TestPki.Held leaf = root.issueClient("device-1");

  @Test
  void certificates_roundTripInOrder() {
    String pem = Pem.encode(leaf.chain());

    assertEquals(leaf.chain(), Pem.readCertificates(pem, "chain"));
  }

  @Test
  void privateKey_roundTripsAsPkcs8() {
    String pem = Pem.encodePrivateKey(leaf.privateKey());

    PrivateKey read = Pem.readPrivateKey(pem, "key");

    assertTrue(pem.startsWith("-----BEGIN PRIVATE KEY-----"), pem);
    assertArrayEquals(leaf.privateKey().getEncoded(), read.getEncoded());
  }

  @Test
  void readPrivateKey_acceptsTraditionalOpensslForms() throws Exception {
    // JcaPEMWriter writes a bare private key in OpenSSL's traditional form: SEC 1
    // "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY", as "openssl ecparam -genkey" does.
    for (KeyPair keys : List.of(leaf.keys(), KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM))) {
      StringWriter out = new StringWriter();
      try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
        writer.writeObject(keys.getPrivate());
      }

      PrivateKey read = Pem.readPrivateKey(out.toString(), "traditional");

      assertTrue(out.toString().matches("(?s)-----BEGIN (EC|RSA) PRIVATE KEY-----.*"), out.toString());
      assertArrayEquals(keys.getPrivate().getEncoded(), read.getEncoded());
    }
  }

  @Test
  void readPrivateKey_returnsPlatformKeysThatJsseRecognises() {
    PrivateKey ec = Pem.readPrivateKey(Pem.encodePrivateKey(leaf.privateKey()), "ec");
    PrivateKey rsa = Pem.readPrivateKey(Pem.encodePrivateKey(KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM).getPrivate()), "rsa");

    assertEquals("EC", ec.getAlgorithm());
    assertEquals("RSA", rsa.getAlgorithm());
  }

  @Test
  void readCertificates_namesFileWhenEmpty(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("empty.pem");
    Files.writeString(file, "nothing here\n");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pem.readCertificates(file));

    assertEquals(file + ": no PEM CERTIFICATE block found", e.getMessage());
  }

  @Test
  void readCertificates_reportsMissingFile(@TempDir Path dir) {
    Path file = dir.resolve("missing.pem");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pem.readCertificates(file));

    assertEquals(file + ": no such file", e.getMessage());
  }

  @Test
  void readCertificates_rejectsCorruptBase64() {
    String pem = Pem.encode(List.of(leaf.certificate())).replace("M", "*");

    assertThrows(IllegalArgumentException.class, () -> Pem.readCertificates(pem, "corrupt"));
  }

  @Test
  void readPrivateKey_refusesTwoKeys() {
    String two = Pem.encodePrivateKey(leaf.privateKey()) + Pem.encodePrivateKey(root.held().privateKey());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pem.readPrivateKey(two, "two"));

    assertEquals("two: expected one PEM private key, found 2", e.getMessage());
  }
}
