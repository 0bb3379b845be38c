package org.estfleet.bench.jmh;

import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.concurrent.TimeUnit;
import javax.crypto.KeyGenerator;
import org.bouncycastle.jcajce.SecretKeyWithEncapsulation;
import org.bouncycastle.jcajce.spec.KEMExtractSpec;
import org.bouncycastle.jcajce.spec.KEMGenerateSpec;
import org.bouncycastle.jcajce.spec.MLKEMParameterSpec;
import org.estfleet.pki.BouncyCastle;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The ML-KEM-768 half of TLS 1.3's X25519MLKEM768 key share, the group BCJSSE offers first since
 * Bouncy Castle 1.87, through Bouncy Castle's provider the way BCJSSE's JCA crypto calls it: the
 * client generates a key pair and later decapsulates the server's ciphertext; the server decodes
 * the client's public key (new at every handshake: 256 keys here, decoded afresh each time) and
 * encapsulates to it. The X25519 half is {@link KeyExchangeBenchmark}'s.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MlKemBenchmark {
  private static final int PEERS = 256;

  private KeyPairGenerator generator;
  private KeyFactory keyFactory;
  private KeyPair mine;
  private byte[][] peers;
  private byte[][] ciphertexts;
  /** The secret each ciphertext carries, for the test that decapsulation recovers it. */
  byte[][] secrets;
  int next;

  @Setup
  public void setUp() throws Exception {
    generator = KeyPairGenerator.getInstance("ML-KEM", BouncyCastle.PROVIDER);
    generator.initialize(MLKEMParameterSpec.ml_kem_768);
    keyFactory = KeyFactory.getInstance("ML-KEM", BouncyCastle.PROVIDER);
    mine = generator.generateKeyPair();
    peers = new byte[PEERS][];
    ciphertexts = new byte[PEERS][];
    secrets = new byte[PEERS][];
    for (int i = 0; i < PEERS; i++) {
      peers[i] = generator.generateKeyPair().getPublic().getEncoded();
      SecretKeyWithEncapsulation encapsulated = encapsulate(mine.getPublic());
      ciphertexts[i] = encapsulated.getEncapsulation();
      secrets[i] = encapsulated.getEncoded();
    }
  }

  /** The client's key share. */
  @Benchmark
  public KeyPair generateKeyPair() {
    return generator.generateKeyPair();
  }

  /** The server: decode the client's public key, encapsulate a secret to it. */
  @Benchmark
  public byte[] decodeAndEncapsulate() throws Exception {
    next = (next + 1) % PEERS;
    return encapsulate(keyFactory.generatePublic(new X509EncodedKeySpec(peers[next]))).getEncoded();
  }

  /** The client: recover the secret from the server's ciphertext. */
  @Benchmark
  public byte[] decapsulate() throws Exception {
    next = (next + 1) % PEERS;
    KeyGenerator extractor = KeyGenerator.getInstance("ML-KEM", BouncyCastle.PROVIDER);
    extractor.init(new KEMExtractSpec.Builder(mine.getPrivate(), ciphertexts[next], "DEF", 256).withNoKdf().build());
    return extractor.generateKey().getEncoded();
  }

  private static SecretKeyWithEncapsulation encapsulate(PublicKey peer) throws Exception {
    KeyGenerator encapsulator = KeyGenerator.getInstance("ML-KEM", BouncyCastle.PROVIDER);
    encapsulator.init(new KEMGenerateSpec.Builder(peer, "DEF", 256).withNoKdf().build());
    return (SecretKeyWithEncapsulation) encapsulator.generateKey();
  }
}
