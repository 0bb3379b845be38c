package org.estfleet.bench.jmh;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.concurrent.TimeUnit;
import org.estfleet.pki.BouncyCastle;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * ECDSA P-256 with SHA-256, sign and verify, by JCA provider: the JDK's SunEC or Bouncy Castle.
 * Every enrollment signs a certificate and verifies a CSR (and, in TLS, signs and verifies again).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SignatureBenchmark {
  @Param({"SunEC", "BC"})
  public String provider;

  private KeyPair keys;
  private byte[] message;
  private byte[] signature;
  private SecureRandom random;

  @Setup
  public void setUp() throws Exception {
    String name = provider.equals("BC") ? BouncyCastle.PROVIDER.getName() : provider;
    if (provider.equals("BC")) {
      java.security.Security.addProvider(BouncyCastle.PROVIDER);
    }
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", name);
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    keys = generator.generateKeyPair();
    random = new SecureRandom();
    message = new byte[400];
    random.nextBytes(message);
    signature = sign();
  }

  private Signature instance() throws Exception {
    return Signature.getInstance("SHA256withECDSA", provider.equals("BC") ? BouncyCastle.PROVIDER.getName() : provider);
  }

  @Benchmark
  public byte[] sign() throws Exception {
    Signature signer = instance();
    signer.initSign(keys.getPrivate(), random);
    signer.update(message);
    return signer.sign();
  }

  @Benchmark
  public boolean verify() throws Exception {
    Signature verifier = instance();
    verifier.initVerify(keys.getPublic());
    verifier.update(message);
    return verifier.verify(signature);
  }
}
