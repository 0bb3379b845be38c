package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.KeyPair;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.TestPki;

/**
 * Properties of the codecs that read what clients send: whatever the bytes, each either decodes
 * or says why with {@link IllegalArgumentException} (which the server answers 400), never
 * anything else; and what is encoded decodes back. Run longer with
 * {@code -Djqwik.tries.default=100000}; failing samples are kept in {@code .jqwik-database} and
 * tried first on the next run.
 */
class CodecPropertiesTest {
  private static final KeyPair KEYS = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
  /**
   * A CSR with a subject of two RDNs, a subjectAltName, an extended key usage and a
   * challengePassword, for mutations to reach each part.
   */
  private static final byte[] GOOD_CSR = new CsrBuilder().subject(new X500Name("O=Acme,CN=device-1"))
      .subjectAltName(new GeneralName(GeneralName.dNSName, "device-1.example"))
      .extendedKeyUsages(List.of(KeyPurposeId.id_kp_clientAuth)).challengePassword("linked").sign(KEYS).der();

  @Property
  void base64Body_anyBytes_decodeOrRefuse(@ForAll @Size(max = 2048) byte[] body) {
    refusesOnly(() -> Base64Body.decode(body));
  }

  @Property
  void base64Body_roundTrip_withLineBreaksAnywhere(@ForAll @Size(min = 1, max = 1024) byte[] der,
      @ForAll("breaks") int every) {
    String encoded = new String(Base64Body.encode(der), java.nio.charset.StandardCharsets.US_ASCII).replace("\n", "");
    StringBuilder wrapped = new StringBuilder();
    for (int i = 0; i < encoded.length(); i++) {
      if (i > 0 && i % every == 0) {
        wrapped.append("\r\n");
      }
      wrapped.append(encoded.charAt(i));
    }
    assertArrayEquals(der, Base64Body.decode(wrapped.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
  }

  @Provide
  Arbitrary<Integer> breaks() {
    return Arbitraries.integers().between(1, 100);
  }

  @Property
  void csr_anyBytes_parseOrRefuse(@ForAll @Size(max = 2048) byte[] der) {
    refusesOnly(() -> readAll(Csr.fromDer(der)));
  }

  /**
   * A CSR with bytes changed is refused with a reason, or parsed into one whose every part reads
   * (the server reads them after parsing: a failure there would be a 500).
   */
  @Property
  void csr_mutated_refusedOrReadable(@ForAll("positions") int position, @ForAll byte value) {
    byte[] mutated = Arrays.copyOf(GOOD_CSR, GOOD_CSR.length);
    mutated[position % mutated.length] = value;
    refusesOnly(() -> readAll(Csr.fromDer(mutated)));
  }

  private static void readAll(Csr csr) {
    csr.commonName();
    csr.subjectAltNames();
    csr.requestedExtensions();
    csr.challengePassword();
    csr.attributeTypes();
    csr.signatureAlgorithmName();
    csr.isSignatureValid();
    Certificates.canonicalName(csr.subject());
  }

  @Provide
  Arbitrary<Integer> positions() {
    return Arbitraries.integers().between(0, 10_000);
  }

  @Property
  void certsOnly_anyBytes_decodeOrRefuse(@ForAll @Size(max = 2048) byte[] der) {
    refusesOnly(() -> CertsOnly.decode(der));
  }

  @Property
  void csrAttributes_anyBytes_decodeOrRefuse(@ForAll @Size(max = 1024) byte[] der) {
    refusesOnly(() -> CsrAttributes.decode(der));
  }

  @Property
  void estPath_anyString_parseOrRefuse(@ForAll("paths") String path) {
    refusesOnly(() -> EstPath.parse(path));
  }

  @Provide
  Arbitrary<String> paths() {
    Arbitrary<String> segment = Arbitraries.oneOf(
        Arbitraries.of("cacerts", "simpleenroll", "simplereenroll", "csrattrs", "serverkeygen", "", "..", "%2e"),
        Arbitraries.strings().ofMaxLength(20));
    return Arbitraries.oneOf(
        segment.list().ofMaxSize(4).map(parts -> "/.well-known/est/" + String.join("/", parts)),
        Arbitraries.strings().ofMaxLength(60));
  }

  @Property(tries = 50)
  void certsOnly_roundTrip(@ForAll("counts") int count) {
    java.util.List<java.security.cert.X509Certificate> certificates = new java.util.ArrayList<>();
    TestPki.Ca ca = TestPki.rootCa("Property Root");
    for (int i = 0; i < count; i++) {
      certificates.add(ca.issueClient("device-" + i).certificate());
    }
    // A SignedData's certificates are a DER SET OF: the order is the encoding's, not ours.
    java.util.List<java.security.cert.X509Certificate> decoded = CertsOnly.decode(CertsOnly.encode(certificates));
    assertEquals(certificates.size(), decoded.size());
    assertEquals(new java.util.HashSet<>(certificates), new java.util.HashSet<>(decoded));
  }

  @Provide
  Arbitrary<Integer> counts() {
    return Arbitraries.integers().between(1, 4);
  }

  /** Runs a decoder: returning is fine, IllegalArgumentException is fine, anything else fails. */
  private static void refusesOnly(Runnable decode) {
    try {
      decode.run();
    } catch (IllegalArgumentException refused) {
      // The codec said why; the server answers 400 with that message.
      if (refused.getMessage() == null || refused.getMessage().isBlank()) {
        throw new AssertionError("refused without a reason", refused);
      }
    }
  }
}
