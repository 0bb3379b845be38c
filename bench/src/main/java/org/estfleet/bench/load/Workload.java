package org.estfleet.bench.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;

/** What each request of a run is: the method, path, headers and body, made before it is timed. */
final class Workload {
  /**
   * One request, ready to send.
   *
   * @param key the public key of the CSR, which the certificate in the answer must have; null for cacerts
   */
  /**
   * A request, and what its answer must hold: a certificate for {@code key} (an enrollment), the
   * CA certificates (cacerts: {@code key} null), or a generated key with its certificate
   * ({@code serverKeygen}).
   */
  record Request(String method, String path, Map<String, String> headers, byte[] body, PublicKey key,
      boolean serverKeygen) {
    Request(String method, String path, Map<String, String> headers, byte[] body, PublicKey key) {
      this(method, path, headers, body, key, false);
    }
  }

  private final EstLoad.Op op;
  private final String basePath;
  private final String basic;
  private final ConcurrentLinkedQueue<String[]> tokens;
  private final KeyAlgorithm keyType;
  private final List<KeyPair> keyPool;
  private final AtomicLong keyIndex = new AtomicLong();
  private final SecureRandom random;

  private Workload(EstLoad.Op op, String basePath, String basic, ConcurrentLinkedQueue<String[]> tokens,
      KeyAlgorithm keyType, List<KeyPair> keyPool, SecureRandom random) {
    this.op = op;
    this.basePath = basePath;
    this.basic = basic;
    this.tokens = tokens;
    this.keyType = keyType;
    this.keyPool = keyPool;
    this.random = random;
  }

  /**
   * @param basic {@code user:password} for HTTP Basic on every request, or null
   * @param tokensFile lines {@code ID:TOKEN}, each used by one simpleenroll for CN=ID, or null
   * @param keyPool how many keys to make ahead and reuse (0: a new key per request)
   */
  static Workload of(EstLoad.Op op, String basePath, String basic, Path tokensFile, KeyAlgorithm keyType, int keyPool,
      SecureRandom random) throws IOException {
    ConcurrentLinkedQueue<String[]> tokens = null;
    if (tokensFile != null) {
      tokens = new ConcurrentLinkedQueue<>();
      int number = 0;
      for (String line : Files.readAllLines(tokensFile, StandardCharsets.UTF_8)) {
        number++;
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        int colon = line.indexOf(':');
        if (colon <= 0 || colon == line.length() - 1) {
          throw new IllegalArgumentException(tokensFile + " line " + number + ": expected ID:TOKEN");
        }
        tokens.add(new String[] {line.substring(0, colon).trim(), line.substring(colon + 1).trim()});
      }
      if (tokens.isEmpty()) {
        throw new IllegalArgumentException(tokensFile + ": no ID:TOKEN lines");
      }
    }
    List<KeyPair> keys = new ArrayList<>();
    for (int i = 0; i < keyPool; i++) {
      keys.add(keyType.generate(random));
    }
    return new Workload(op, basePath, basic, tokens, keyType, keys, random);
  }

  /** Whether requests take a token each from the tokens file. */
  boolean usesTokens() {
    // simplereenroll spends tokens only on enrolling its client identities, before the run.
    return tokens != null && (op == EstLoad.Op.simpleenroll || op == EstLoad.Op.serverkeygen);
  }

  /** How many tokens are left. */
  int tokensLeft() {
    return tokens == null ? 0 : tokens.size();
  }

  /**
   * The next simpleenroll for a new identity (with a token, or Basic for the CN of its user), or
   * null when the tokens are used up.
   */
  Request enrollment() {
    return enrollment(null);
  }

  /** As {@link #enrollment()}, for {@code keys} (null: the next key of the run). */
  Request enrollment(KeyPair keys) {
    return enrollment(keys, false);
  }

  private Request enrollment(KeyPair keys, boolean serverKeygen) {
    String identity;
    String authorization;
    if (tokens != null) {
      String[] token = tokens.poll();
      if (token == null) {
        return null;
      }
      identity = token[0];
      authorization = basicHeader(token[0] + ":" + token[1]);
    } else {
      identity = basic.substring(0, basic.indexOf(':'));
      authorization = basicHeader(basic);
    }
    KeyPair key = keys == null ? nextKey() : keys;
    byte[] csr = new CsrBuilder().commonName(identity).sign(key).der();
    // serverkeygen: the CSR's key only says the type of key wanted (RFC 7030 section 4.4.1).
    return new Request("POST", basePath + (serverKeygen ? "/serverkeygen" : "/simpleenroll"),
        Map.of("Content-Type", EstMediaType.PKCS10, "Authorization", authorization), Base64Body.encode(csr),
        key.getPublic(), serverKeygen);
  }

  /** The next request of the run for a worker whose client certificate names {@code subject}, or null when done. */
  Request next(X500Name subject) {
    return switch (op) {
      case cacerts -> new Request("GET", basePath + "/cacerts",
          basic == null ? Map.of() : Map.of("Authorization", basicHeader(basic)), null, null);
      case simpleenroll -> enrollment();
      case serverkeygen -> enrollment(null, true);
      case simplereenroll -> {
        KeyPair key = nextKey();
        yield new Request("POST", basePath + "/simplereenroll",
            basic == null ? Map.of("Content-Type", EstMediaType.PKCS10)
                : Map.of("Content-Type", EstMediaType.PKCS10, "Authorization", basicHeader(basic)),
            Base64Body.encode(new CsrBuilder().subject(subject).sign(key).der()), key.getPublic());
      }
    };
  }

  private KeyPair nextKey() {
    if (keyPool.isEmpty()) {
      return keyType.generate(random);
    }
    return keyPool.get((int) (keyIndex.getAndIncrement() % keyPool.size()));
  }

  private static String basicHeader(String userPassword) {
    return "Basic " + Base64.getEncoder().encodeToString(userPassword.getBytes(StandardCharsets.UTF_8));
  }
}
