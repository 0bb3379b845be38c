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
 * provider verifies ECDSA.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PathBenchmark {
  private byte[] leaf;
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
    leaf = Certificates.der(new CertificateBuilder().subject(new X500Name("CN=device-1"))
        .publicKey(KeyAlgorithm.EC_P256.generate(random).getPublic()).serial(CertificateBuilder.randomSerial(random))
        .validity(now.minusSeconds(60), now.plus(Duration.ofDays(30))).keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsages(List.of(KeyPurposeId.id_kp_clientAuth)).signWith(issuing, issuingKeys.getPrivate()));
  }

  @Benchmark
  public List<X509Certificate> validate() throws Exception {
    return CertificatePath.validate(Certificates.fromDer(leaf), List.of(issuing), List.of(root), Instant.now());
  }
}
