package org.estfleet.bench.jmh;

import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.Security;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.concurrent.TimeUnit;
import javax.crypto.KeyAgreement;
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
 * The key exchange of a TLS 1.3 handshake, by JCA provider and group: each end generates a key
 * pair and agrees on a secret with the peer's public key, which arrives encoded and is new at
 * every handshake (so nothing precomputed for it can be reused: the peers here are 256 keys
 * decoded afresh each time). A P-256 key pair is also what a device generates for each CSR.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class KeyExchangeBenchmark {
  private static final int PEERS = 256;

  @Param({"SunEC", "BC"})
  public String provider;

  @Param({"secp256r1", "X25519"})
  public String group;

  private Provider jca;
  private KeyPairGenerator generator;
  private KeyFactory keyFactory;
  private KeyPair mine;
  private byte[][] peers;
  private int next;

  @Setup
  public void setUp() throws Exception {
    jca = provider.equals("BC") ? BouncyCastle.PROVIDER : Security.getProvider(provider);
    boolean x25519 = group.equals("X25519");
    generator = KeyPairGenerator.getInstance(x25519 ? "X25519" : "EC", jca);
    if (!x25519) {
      generator.initialize(new ECGenParameterSpec(group));
    }
    keyFactory = KeyFactory.getInstance(x25519 ? "X25519" : "EC", jca);
    mine = generator.generateKeyPair();
    peers = new byte[PEERS][];
    for (int i = 0; i < PEERS; i++) {
      peers[i] = generator.generateKeyPair().getPublic().getEncoded();
    }
  }

  @Benchmark
  public KeyPair generateKeyPair() {
    return generator.generateKeyPair();
  }

  /** Decode the peer's public key, then agree (ECDH or X25519). */
  @Benchmark
  public byte[] decodeAndAgree() throws Exception {
    next = (next + 1) % PEERS;
    KeyAgreement agreement = KeyAgreement.getInstance(group.equals("X25519") ? "X25519" : "ECDH", jca);
    agreement.init(mine.getPrivate());
    agreement.doPhase(keyFactory.generatePublic(new X509EncodedKeySpec(peers[next])), true);
    return agreement.generateSecret();
  }
}
