package org.estfleet.bench.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.tls.NamedGroup;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key exchange groups est-load offers ({@code --groups}), read off the wire: a TCP listener on
 * 127.0.0.1 reads est-load's ClientHello, parses its supported_groups and key_share extensions
 * (RFC 8446 section 4.2.7, 4.2.8), and closes the connection.
 */
class EstLoadGroupsTest {
  @TempDir
  Path dir;

  /** The groups of a ClientHello, by standard name, in the order sent. */
  private record Hello(List<String> groups, List<String> keyShares) {}

  private record Run(int exit, String err, Hello hello) {}

  /** est-load (one cacerts request) with {@code options}, against the listener; the hello it sent, if any. */
  private Run offered(String... options) throws Exception {
    Path trust = dir.resolve("root.pem");
    Files.writeString(trust, Pem.encode(TestPki.rootCa("never asked").certificate()));
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      CompletableFuture<Hello> hello = new CompletableFuture<>();
      Thread reader = new Thread(() -> {
        try (Socket socket = listener.accept()) {
          hello.complete(parse(socket.getInputStream()));
        } catch (Throwable e) { // closed by the test when est-load did not connect, or not a ClientHello
          hello.completeExceptionally(e);
        }
      }, "client-hello-reader");
      reader.setDaemon(true);
      reader.start();
      List<String> args = new ArrayList<>(List.of("--url", "https://127.0.0.1:" + listener.getLocalPort(), "--op",
          "cacerts", "--trust", trust.toString(), "--count", "1", "--concurrency", "1", "--timeout", "10s", "--quiet"));
      args.addAll(List.of(options));
      StringWriter err = new StringWriter();
      int exit = EstLoad.commandLine(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true))
          .execute(args.toArray(String[]::new));
      if (exit == EstLoad.EXIT_USAGE) {
        return new Run(exit, err.toString(), null);
      }
      try {
        return new Run(exit, err.toString(), hello.get(10, TimeUnit.SECONDS));
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        throw new AssertionError("no ClientHello read (est-load exit " + exit + ": " + err + ")", e);
      }
    }
  }

  private static Hello parse(InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    ByteArrayOutputStream handshake = new ByteArrayOutputStream();
    int length = -1;
    while (length < 0 || handshake.size() < 4 + length) {
      int contentType = in.readUnsignedByte();
      in.readUnsignedShort(); // legacy_record_version
      byte[] fragment = in.readNBytes(in.readUnsignedShort());
      assertEquals(22, contentType, "a handshake record");
      handshake.writeBytes(fragment);
      byte[] head = handshake.toByteArray();
      if (length < 0 && head.length >= 4) {
        assertEquals(1, head[0], "a ClientHello");
        length = (head[1] & 0xff) << 16 | (head[2] & 0xff) << 8 | head[3] & 0xff;
      }
    }
    ByteBuffer hello = ByteBuffer.wrap(handshake.toByteArray(), 4, length);
    skip(hello, 2 + 32); // legacy_version, random
    skip(hello, hello.get() & 0xff); // legacy_session_id
    skip(hello, hello.getShort() & 0xffff); // cipher_suites
    skip(hello, hello.get() & 0xff); // legacy_compression_methods
    int end = hello.position() + (hello.getShort() & 0xffff);
    List<String> groups = new ArrayList<>();
    List<String> keyShares = new ArrayList<>();
    while (hello.position() < end) {
      int type = hello.getShort() & 0xffff;
      int size = hello.getShort() & 0xffff;
      ByteBuffer body = hello.slice(hello.position(), size);
      skip(hello, size);
      if (type == 10) { // supported_groups
        for (int n = (body.getShort() & 0xffff) / 2; n > 0; n--) {
          groups.add(NamedGroup.getName(body.getShort() & 0xffff));
        }
      } else if (type == 51) { // key_share
        int sharesEnd = body.position() + 2 + (body.getShort() & 0xffff);
        while (body.position() < sharesEnd) {
          keyShares.add(NamedGroup.getName(body.getShort() & 0xffff));
          skip(body, body.getShort() & 0xffff);
        }
      }
    }
    return new Hello(groups, keyShares);
  }

  private static void skip(ByteBuffer buffer, int bytes) {
    buffer.position(buffer.position() + bytes);
  }

  @Test
  void bouncyCastle_byDefault_offersTheHybridPostQuantumGroupFirst() throws Exception {
    Hello hello = offered("--tls-provider", "BCJSSE").hello();

    assertEquals("X25519MLKEM768", hello.groups().get(0), hello.toString());
    assertTrue(hello.groups().contains("x25519"), hello.toString());
    assertEquals("X25519MLKEM768", hello.keyShares().get(0), hello.toString());
  }

  @Test
  void theJdksTls_byDefault_offersNoPostQuantumGroup_throughJava25() throws Exception {
    assumeTrue(Runtime.version().feature() <= 25, "README says this of Java 17 to 25");
    Hello hello = offered("--tls-provider", "SunJSSE").hello();

    // As est-server's agents connect (renewal-agent uses the JDK's TLS): x25519 first.
    assertEquals("x25519", hello.groups().get(0), hello.toString());
    assertFalse(hello.groups().stream().anyMatch(group -> group.contains("MLKEM")), hello.toString());
  }

  @Test
  void groups_bouncyCastle_offersExactlyThoseInThatOrder_namesInAnyCase() throws Exception {
    Hello hello = offered("--tls-provider", "BCJSSE", "--groups", "SECP256R1,x25519").hello();

    assertEquals(List.of("secp256r1", "x25519"), hello.groups());
    assertEquals("secp256r1", hello.keyShares().get(0), hello.toString());
  }

  @Test
  void groups_theJdksTls_fromJava20_orAUsageErrorNamingTheWayOut() throws Exception {
    Run run = offered("--tls-provider", "SunJSSE", "--groups", "secp256r1,x25519");

    if (Runtime.version().feature() >= 20) {
      assertEquals(List.of("secp256r1", "x25519"), run.hello().groups());
    } else {
      assertEquals(EstLoad.EXIT_USAGE, run.exit());
      assertTrue(run.err().contains("--groups: SunJSSE takes them per connection from Java 20 on (this is Java "
          + Runtime.version().feature() + "); use --tls-provider BCJSSE, or run est-load with "
          + "-Djdk.tls.namedGroups=secp256r1,x25519 instead"), run.err());
    }
  }

  @Test
  void groups_unknownRepeatedOrEmpty_isAUsageErrorNamingIt() throws Exception {
    Run unknown = offered("--tls-provider", "BCJSSE", "--groups", "x25519,x2559");
    assertEquals(EstLoad.EXIT_USAGE, unknown.exit());
    assertTrue(unknown.err().contains("--groups: 'x2559' is not a TLS key exchange group"), unknown.err());

    Run repeated = offered("--tls-provider", "BCJSSE", "--groups", "x25519,X25519");
    assertEquals(EstLoad.EXIT_USAGE, repeated.exit());
    assertTrue(repeated.err().contains("--groups: 'X25519' is given twice"), repeated.err());

    Run empty = offered("--tls-provider", "BCJSSE", "--groups", "x25519, ");
    assertEquals(EstLoad.EXIT_USAGE, empty.exit());
    assertTrue(empty.err().contains("--groups: an empty name in the list"), empty.err());
  }

  @Test
  void groups_noneForTheTlsVersion_orOneTheProviderDoesNotOffer_isAUsageErrorNamingIt() throws Exception {
    Run tls12 = offered("--tls-provider", "BCJSSE", "--tls", "1.2", "--groups", "X25519MLKEM768");
    assertEquals(EstLoad.EXIT_USAGE, tls12.exit());
    assertTrue(tls12.err().contains("--groups: none of X25519MLKEM768 can be used in TLS 1.2 (--tls)"), tls12.err());
    Run tls13 = offered("--tls-provider", "BCJSSE", "--groups", "brainpoolP256r1");
    assertEquals(EstLoad.EXIT_USAGE, tls13.exit());
    assertTrue(tls13.err().contains("--groups: none of brainpoolP256r1 can be used in TLS 1.3 (--tls)"), tls13.err());

    // Registered, and usable in TLS 1.2, but not offered by Bouncy Castle's TLS: it would be left
    // out of every handshake without a word, and the run labelled with it.
    Run legacy = offered("--tls-provider", "BCJSSE", "--tls", "1.2", "--groups", "x25519,secp160k1");
    assertEquals(EstLoad.EXIT_USAGE, legacy.exit());
    assertTrue(legacy.err().contains("--groups: BCJSSE on Java " + Runtime.version().feature()
        + " cannot offer secp160k1 in TLS 1.2 (of x25519,secp160k1 it offers x25519)"), legacy.err());
  }
}
