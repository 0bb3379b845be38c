package org.estfleet.bench.jmh;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.pki.BouncyCastle;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The CPU steps of one enrollment on the server's code path, each alone: the body decoded and the
 * CSR parsed with its proof-of-possession checked, the certificate built and signed, the response
 * encoded. Keys are held as the server holds them: the issuing key read from PEM and then made
 * Bouncy Castle's own ({@link BouncyCastle#ownKey}), and CSRs each with a key of its own.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class EnrollmentStepsBenchmark {
  private static final int CSRS = 256;

  private final byte[][] bodies = new byte[CSRS][];
  private int next;
  private Csr csr;
  private X509Certificate issuing;
  private PrivateKey issuingKey;
  private PrivateKey issuingKeyAsRead;
  private X509Certificate issued;
  private SecureRandom random;

  @Setup
  public void setUp() {
    random = new SecureRandom();
    KeyPair rootKeys = KeyAlgorithm.EC_P256.generate(random);
    Instant now = Instant.now();
    X509Certificate root = new CertificateBuilder().subject(new X500Name("CN=Bench Root"))
        .publicKey(rootKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now, now.plus(Duration.ofDays(365))).ca(1).selfSign(rootKeys.getPrivate());
    KeyPair issuingKeys = KeyAlgorithm.EC_P256.generate(random);
    issuing = new CertificateBuilder().subject(new X500Name("CN=Bench Issuing"))
        .publicKey(issuingKeys.getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now, now.plus(Duration.ofDays(365))).ca(0).signWith(root, rootKeys.getPrivate());
    issuingKeyAsRead = Pem.readPrivateKey(Pem.encodePrivateKey(issuingKeys.getPrivate()), "issuing key");
    issuingKey = BouncyCastle.ownKey(issuingKeyAsRead);
    for (int i = 0; i < CSRS; i++) {
      csr = new CsrBuilder().commonName("device-" + i).sign(KeyAlgorithm.EC_P256.generate(random));
      bodies[i] = Base64Body.encode(csr.der());
    }
    issued = issue();
  }

  /** Base64 body to a parsed CSR whose signature verifies (proof-of-possession), each CSR a new key. */
  @Benchmark
  public boolean csrParseAndVerify() {
    next = (next + 1) % CSRS;
    return Csr.fromDer(Base64Body.decode(bodies[next])).isSignatureValid();
  }

  /** The device certificate built and signed with the issuing key (ECDSA P-256), as the server holds it. */
  @Benchmark
  public X509Certificate issue() {
    return issue(issuingKey);
  }

  /**
   * The same signed with the key object as {@link Pem} reads it (the JDK's), which the server
   * used before it made the key Bouncy Castle's own.
   */
  @Benchmark
  public X509Certificate issueWithKeyAsRead() {
    return issue(issuingKeyAsRead);
  }

  private X509Certificate issue(PrivateKey key) {
    Instant now = Instant.now();
    return new CertificateBuilder().subject(csr.subject()).publicKey(csr.publicKey())
        .serial(CertificateBuilder.randomSerial(random)).validity(now, now.plus(Duration.ofDays(30)))
        .keyUsage(KeyUsage.digitalSignature).extendedKeyUsages(List.of(KeyPurposeId.id_kp_clientAuth))
        .signWith(issuing, key);
  }

  /** The response: certs-only PKCS#7, base64. */
  @Benchmark
  public byte[] pkcs7Encode() {
    return Base64Body.encode(CertsOnly.encode(List.of(issued)));
  }
}
