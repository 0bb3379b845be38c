package org.estfleet.bench.jmh;

import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
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
  private static final int SIGNERS = 256;

  @Param({"SunEC", "BC"})
  public String provider;

  private Provider jca;
  private KeyPair keys;
  private byte[] message;
  private byte[] signature;
  private SecureRandom random;
  private KeyFactory keyFactory;
  private byte[][] signerKeys;
  private byte[][] signatures;
  private int next;

  @Setup
  public void setUp() throws Exception {
    jca = provider.equals("BC") ? BouncyCastle.PROVIDER : Security.getProvider(provider);
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", jca);
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    keys = generator.generateKeyPair();
    random = new SecureRandom();
    message = new byte[400];
    random.nextBytes(message);
    signature = sign();
    keyFactory = KeyFactory.getInstance("EC", jca);
    signerKeys = new byte[SIGNERS][];
    signatures = new byte[SIGNERS][];
    for (int i = 0; i < SIGNERS; i++) {
      KeyPair signer = generator.generateKeyPair();
      Signature signing = instance();
      signing.initSign(signer.getPrivate(), random);
      signing.update(message);
      signerKeys[i] = signer.getPublic().getEncoded();
      signatures[i] = signing.sign();
    }
  }

  private Signature instance() throws Exception {
    return Signature.getInstance("SHA256withECDSA", jca);
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

  /**
   * Verify with a key that arrives encoded and is new each time, as a CSR's key or a TLS peer's
   * CertificateVerify key is (256 keys decoded afresh: nothing precomputed for a key is reused).
   */
  @Benchmark
  public boolean verifyNewKey() throws Exception {
    next = (next + 1) % SIGNERS;
    Signature verifier = instance();
    verifier.initVerify(keyFactory.generatePublic(new X509EncodedKeySpec(signerKeys[next])));
    verifier.update(message);
    return verifier.verify(signatures[next]);
  }
}
