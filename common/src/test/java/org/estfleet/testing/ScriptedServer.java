package org.estfleet.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;

/**
 * A TLS server on 127.0.0.1 that answers as a script says: another EST server, or a badly behaved
 * one, for a client to be run against (est-load, the agent). Its certificate names localhost and
 * 127.0.0.1 under a root of its own ({@link #trust()}, {@link #root()}).
 */
public final class ScriptedServer implements AutoCloseable {
  /** What the server does with one connection: read requests with {@link #readRequest}, write anything. */
  public interface Script {
    void serve(ScriptedServer server, InputStream in, OutputStream out) throws Exception;
  }

  private final SSLServerSocket listener;
  private final TestPki.Ca root;
  private final Path trust;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  /** The connections open, closed with the server. */
  private final java.util.Set<SSLSocket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** The client certificate chains presented to a server that asks for them, in order. */
  private final List<java.security.cert.X509Certificate[]> clientChains =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  public ScriptedServer(Path dir, Script script) throws Exception {
    this(dir, false, null, script);
  }

  /**
   * @param askClientCertificate whether the server asks for a client certificate (any is
   *     accepted, and recorded: {@link #clientChains()})
   * @param protocols the TLS versions it speaks, or null for the JDK's default
   */
  public ScriptedServer(Path dir, boolean askClientCertificate, String[] protocols, Script script) throws Exception {
    root = TestPki.rootCa("scripted EST server root");
    TestPki.Held server = root.issue("localhost", b -> b.subjectAltNames(List.of(
        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")))
        .extendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    trust = Files.writeString(dir.resolve("scripted-root.pem"), Pem.encode(root.certificate()));
    SSLContext context = SSLContext.getInstance("TLS");
    javax.net.ssl.TrustManager[] recording = {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {
        clientChains.add(chain.clone());
      }

      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {
        throw new UnsupportedOperationException("a server");
      }

      @Override
      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return new java.security.cert.X509Certificate[0];
      }
    }};
    context.init(TestPki.keyManagers(server.privateKey(), server.chain().toArray(java.security.cert.X509Certificate[]::new))
        .getKeyManagers(), askClientCertificate ? recording : null, new SecureRandom());
    listener = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 50,
        InetAddress.getByName("127.0.0.1"));
    listener.setWantClientAuth(askClientCertificate);
    if (protocols != null) {
      listener.setEnabledProtocols(protocols);
    }
    Thread acceptor = new Thread(() -> {
      while (!listener.isClosed()) {
        try {
          SSLSocket socket = (SSLSocket) listener.accept();
          connections.incrementAndGet();
          open.add(socket);
          Thread connection = new Thread(() -> {
            try (socket) {
              script.serve(this, socket.getInputStream(), socket.getOutputStream());
            } catch (Exception e) {
              // the client went away, the script ended, or the server was closed
            } finally {
              open.remove(socket);
            }
          }, "scripted-connection");
          connection.setDaemon(true);
          connection.start();
        } catch (IOException e) {
          return; // closed
        }
      }
    }, "scripted-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** {@code https://127.0.0.1:PORT}. */
  public String url() {
    return "https://127.0.0.1:" + listener.getLocalPort();
  }

  /** The PEM root that authenticates this server. */
  public Path trust() {
    return trust;
  }

  /** The root CA under which the server's certificate is issued, to issue more under. */
  public TestPki.Ca root() {
    return root;
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Requests read so far (by {@link #readRequest}). */
  public int requests() {
    return requests.get();
  }

  /** The client certificate chains presented so far (a server asking for them). */
  public List<java.security.cert.X509Certificate[]> clientChains() {
    return List.copyOf(clientChains);
  }

  /** A request's line and body. */
  public record Request(String line, byte[] body) {}

  /** Reads one request (head and Content-Length body); returns its request line, or null at the end of the stream. */
  public String readRequest(InputStream in) throws IOException {
    Request request = read(in);
    return request == null ? null : request.line();
  }

  /** Reads one request (head and Content-Length body); null at the end of the stream. */
  public Request read(InputStream in) throws IOException {
    String requestLine = line(in);
    if (requestLine == null) {
      return null;
    }
    int length = 0;
    for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
      if (header.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(header.substring(header.indexOf(':') + 1).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    requests.incrementAndGet();
    return new Request(requestLine, body);
  }

  /** Reads one request and writes {@code response} to it; returns false at the end of the stream. */
  public boolean answerOne(InputStream in, OutputStream out, byte[] response) throws IOException {
    if (readRequest(in) == null) {
      return false;
    }
    out.write(response);
    out.flush();
    return true;
  }

  /** A complete response: the status line, Content-Length and {@code headers} (each ending CRLF), then the body. */
  public static byte[] response(String status, String headers, byte[] body) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(("HTTP/1.1 " + status + "\r\nContent-Length: " + body.length + "\r\n" + headers + "\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    bytes.writeBytes(body);
    return bytes.toByteArray();
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c = in.read(); c >= 0; c = in.read()) {
      if (c == '\n') {
        return line.toString().strip();
      }
      line.append((char) c);
    }
    return line.length() == 0 ? null : line.toString();
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (SSLSocket socket : open) {
      socket.close(); // a script waiting on it ends
    }
  }
}
