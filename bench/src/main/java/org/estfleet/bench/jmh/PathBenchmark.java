package org.estfleet.bench.jmh;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.CertificatePath;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyAlgorithm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A re-enrolling client's certificate path validated as the server does at every request: the
 * leaf as it arrives (parsed from its encoding each time), the same issuing CA and root. The
 * JDK's certificate factory returns the same object for the same encoding, and its certificate
 * objects remember a successful verification, so a path seen before costs little whichever
 * provider verifies ECDSA ({@link #validate}). A fleet's devices each connect once per renewal,
 * so the server mostly sees leaves it has not seen before ({@link #validateNewLeaf}: more
 * distinct leaves than the certificate factory's cache holds, taken in turn).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PathBenchmark {
  /** More than the 750 certificates the JDK's certificate factory keeps. */
  private static final int NEW_LEAVES = 2048;

  private byte[] leaf;
  private byte[][] newLeaves;
  private int next;
  private X509Certificate issuing;
  private X509Certificate root;

  @Setup
  public void setUp() {
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now();
    KeyPair rootKeys = KeyAlgorithm.EC_P256.generate(random);
    root = new CertificateBuilder().subject(new X500Name("CN=Bench Root")).publicKey(rootKeys.getPublic())
        .serial(CertificateBuilder.randomSerial(random)).validity(now.minusSeconds(60), now.plus(Duration.ofDays(365)))
        .ca(1).selfSign(rootKeys.getPrivate());
    KeyPair issuingKeys = KeyAlgorithm.EC_P256.generate(random);
    issuing = new CertificateBuilder().subject(new X500Name("CN=Bench Issuing")).publicKey(issuingKeys.getPublic())
        .serial(CertificateBuilder.randomSerial(random)).validity(now.minusSeconds(60), now.plus(Duration.ofDays(365)))
        .ca(0).signWith(root, rootKeys.getPrivate());
    newLeaves = new byte[NEW_LEAVES][];
    for (int i = 0; i < NEW_LEAVES; i++) {
      newLeaves[i] = Certificates.der(new CertificateBuilder().subject(new X500Name("CN=device-" + i))
          .publicKey(KeyAlgorithm.EC_P256.generate(random).getPublic()).serial(CertificateBuilder.randomSerial(random))
          .validity(now.minusSeconds(60), now.plus(Duration.ofDays(30))).keyUsage(KeyUsage.digitalSignature)
          .extendedKeyUsages(List.of(KeyPurposeId.id_kp_clientAuth)).signWith(issuing, issuingKeys.getPrivate()));
    }
    leaf = newLeaves[0];
  }

  @Benchmark
  public List<X509Certificate> validate() throws Exception {
    return CertificatePath.validate(Certificates.fromDer(leaf), List.of(issuing), List.of(root), Instant.now());
  }

  @Benchmark
  public List<X509Certificate> validateNewLeaf() throws Exception {
    next = (next + 1) % NEW_LEAVES;
    return CertificatePath.validate(Certificates.fromDer(newLeaves[next]), List.of(issuing), List.of(root),
        Instant.now());
  }
}
