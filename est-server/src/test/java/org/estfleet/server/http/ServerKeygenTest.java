package org.estfleet.server.http;

import static org.estfleet.server.EstTestClient.issued;
import static org.estfleet.server.EstTestClient.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.estfleet.est.Base64Body;
import org.estfleet.est.ServerGeneratedKey;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.TestPki;
import org.estfleet.server.EstTestClient;
import org.estfleet.server.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /serverkeygen} (RFC 7030 section 4.4) over real TLS: authenticated and judged as
 * simpleenroll, for a key the server generates of the CSR's key type, answered as multipart/mixed
 * with the PKCS#8 key and its certificate, and the key kept nowhere.
 */
class ServerKeygenTest {
  @TempDir
  Path dir;

  private TestServer server;
  private EstTestClient anonymous;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.start(dir.resolve("server"), "{\"labels\": {\"sealed\": {\"serverKeygen\": false}}}");
    anonymous = EstTestClient.anonymous(server);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private static Csr csr(String deviceId, KeyPair keys) {
    return new CsrBuilder().commonName(deviceId).sign(keys);
  }

  private static PrivateKey privateKey(ServerGeneratedKey answer, String algorithm) throws Exception {
    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(answer.privateKeyInfo()));
  }

  private static ServerGeneratedKey answer(HttpResponse<byte[]> response) {
    assertEquals(200, response.statusCode(), text(response));
    return ServerGeneratedKey.decode(response.headers().firstValue("Content-Type").orElseThrow(), response.body());
  }

  @Test
  void aToken_getsAKeyOfTheCsrsKeyType_andItsCertificate_theCsrsOwnKeyIgnored() throws Exception {
    KeyPair requesterKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    String token = server.token("device-1");

    HttpResponse<byte[]> response = anonymous.enroll("serverkeygen", csr("device-1", requesterKeys), "device-1", token);
    HttpResponse<byte[]> again = anonymous.enroll("serverkeygen", csr("device-1", requesterKeys), "device-1", token);

    ServerGeneratedKey answer = answer(response);
    assertEquals(ServerGeneratedKey.CONTENT_TYPE, response.headers().firstValue("Content-Type").orElseThrow());
    assertEquals("no-store", response.headers().firstValue("Cache-Control").orElseThrow());
    X509Certificate certificate = answer.certificate();
    PrivateKey key = privateKey(answer, "EC");
    assertEquals("CN=device-1", certificate.getSubjectX500Principal().getName());
    assertTrue(KeyPairs.matches(certificate.getPublicKey(), key), "the key is the certificate's");
    assertEquals(KeyAlgorithm.EC_P256, KeyAlgorithm.of(certificate.getPublicKey()).orElseThrow());
    assertNotEquals(requesterKeys.getPublic(), certificate.getPublicKey(), "the CSR's own key is not certified");
    certificate.verify(server.issuingCertificate().getPublicKey()); // issued by this CA
    assertEquals(List.of(Certificates.serialHex(certificate)),
        server.ledger(ledger -> ledger.byDevice("device-1")).stream().map(record -> record.serial()).toList());
    assertEquals(401, again.statusCode(), "the token is spent: the key is not kept to be sent again");
    assertTrue(text(again).contains("already used"), text(again));
    // Even for a CSR of the key it generated (what a retry of a simpleenroll would be answered):
    // no certificate without its key.
    HttpResponse<byte[]> withItsKey = anonymous.enroll("serverkeygen",
        csr("device-1", new KeyPair(certificate.getPublicKey(), key)), "device-1", token);
    assertEquals(401, withItsKey.statusCode(), text(withItsKey));
    // Written nowhere on the server: not the key's DER, its PEM lines past the header every EC
    // key shares, nor its private value raw, in hex or in base64.
    server.close(); // its files at rest
    String written;
    try (Stream<Path> files = Files.walk(server.dataDir())) {
      written = String.join("\n", files.filter(Files::isRegularFile).map(ServerKeygenTest::read).toList());
    }
    byte[] value = ((ECPrivateKey) key).getS().toByteArray();
    List<String> traces = new ArrayList<>(List.of(new String(answer.privateKeyInfo(), StandardCharsets.ISO_8859_1),
        new String(value, StandardCharsets.ISO_8859_1), HexFormat.of().formatHex(value),
        Base64.getEncoder().encodeToString(value)));
    Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(answer.privateKeyInfo()).lines().skip(1)
        .filter(line -> line.length() >= 16).forEach(traces::add);
    for (String trace : traces) {
      assertFalse(written.contains(trace), "the private key is written nowhere on the server");
    }
  }

  @Test
  void anRsaCsr_getsAnRsaKeyOfItsSize() throws Exception {
    KeyPair requesterKeys = KeyAlgorithm.RSA_2048.generate(TestPki.RANDOM);

    ServerGeneratedKey answer = answer(anonymous.enroll("serverkeygen", csr("device-2", requesterKeys), "device-2",
        server.token("device-2")));

    assertEquals(KeyAlgorithm.RSA_2048, KeyAlgorithm.of(answer.certificate().getPublicKey()).orElseThrow());
    assertTrue(KeyPairs.matches(answer.certificate().getPublicKey(), privateKey(answer, "RSA")));
  }

  @Test
  void aCertificateOfThisCa_getsANewKeyForItsOwnNamesOnly() throws Exception {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    X509Certificate current = issued(anonymous.enroll("simpleenroll", csr("device-3", keys), "device-3",
        server.token("device-3")));
    EstTestClient device = EstTestClient.withCertificate(server, keys.getPrivate(), List.of(current));

    ServerGeneratedKey rekeyed = answer(device.enroll("serverkeygen", csr("device-3", keys), null, null));
    HttpResponse<byte[]> other = device.enroll("serverkeygen", csr("device-4", keys), null, null);

    assertEquals(current.getSubjectX500Principal(), rekeyed.certificate().getSubjectX500Principal());
    assertNotEquals(current.getPublicKey(), rekeyed.certificate().getPublicKey());
    assertEquals(403, other.statusCode(), text(other));
  }

  @Test
  void refusals_spendNoToken() throws Exception {
    String token = server.token("device-5");
    KeyPairGenerator p521 = KeyPairGenerator.getInstance("EC", BouncyCastle.PROVIDER);
    p521.initialize(new ECGenParameterSpec("secp521r1"), TestPki.RANDOM);
    KeyPair unsupported = p521.generateKeyPair();
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);

    HttpResponse<byte[]> noCredentials = anonymous.enroll("serverkeygen", csr("device-5", keys), null, null);
    HttpResponse<byte[]> wrongToken = anonymous.enroll("serverkeygen", csr("device-5", keys), "device-5", "nope");
    HttpResponse<byte[]> keyType = anonymous.enroll("serverkeygen", csr("device-5", unsupported), "device-5", token);
    HttpResponse<byte[]> otherName = anonymous.enroll("serverkeygen", csr("device-6", keys), "device-5", token);
    HttpResponse<byte[]> turnedOff = anonymous.post("/.well-known/est/sealed/serverkeygen",
        Base64Body.encode(csr("device-5", keys).der()), "Content-Type", "application/pkcs10",
        "Authorization", EstTestClient.basic("device-5", token));
    // id-aa-decryptKeyID (RFC 7030 4.4.1.1): the key to come encrypted under a key of the client's.
    Csr encrypted = Csr.fromDer(new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=device-5"), keys.getPublic())
        .addAttribute(new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.2.37"), new DEROctetString(new byte[] {1, 2}))
        .build(CsrBuilder.signer(keys.getPrivate(), keys.getPublic())).getEncoded());
    HttpResponse<byte[]> encryptedKey = anonymous.enroll("serverkeygen", encrypted, "device-5", token);
    HttpResponse<byte[]> finally200 = anonymous.enroll("serverkeygen", csr("device-5", keys), "device-5", token);

    assertEquals(401, noCredentials.statusCode(), text(noCredentials));
    assertEquals(401, wrongToken.statusCode(), text(wrongToken));
    assertEquals(400, keyType.statusCode(), text(keyType));
    assertEquals("serverkeygen generates keys of the type of the CSR's own key, which is an EC key on secp521r1; "
        + "send a CSR with an EC P-256, EC P-384, RSA 2048 or RSA 3072 key (any one: only its type is used)\n",
        text(keyType));
    assertEquals(403, otherName.statusCode(), text(otherName));
    assertEquals(501, turnedOff.statusCode(), text(turnedOff));
    assertEquals("serverkeygen is turned off for this label (serverKeygen: false in its profile); generate the key "
        + "on the device and use simpleenroll\n", text(turnedOff));
    assertEquals(501, encryptedKey.statusCode(), text(encryptedKey));
    assertTrue(text(encryptedKey).startsWith("the CSR asks for the key encrypted (DecryptKeyIdentifier"),
        text(encryptedKey));
    assertEquals("CN=device-5", answer(finally200).certificate().getSubjectX500Principal().getName(),
        "none of the refusals spent the token");
  }

  private static String read(Path path) {
    try {
      return new String(Files.readAllBytes(path), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
