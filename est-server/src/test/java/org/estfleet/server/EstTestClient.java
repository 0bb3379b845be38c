package org.estfleet.server;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.EstMediaType;
import org.estfleet.est.client.ClientKeyManager;
import org.estfleet.pki.Csr;

/**
 * Test client: the JDK's HTTP client over TLS, trusting only the given root, optionally with a
 * client certificate. Responses are returned whole so tests can check status, headers and body.
 */
public final class EstTestClient {
  private final HttpClient http;
  private final TestServer server;

  private EstTestClient(TestServer server, SSLContext context) {
    this.server = server;
    this.http = HttpClient.newBuilder()
        .sslContext(context)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  /** A client without a certificate. */
  public static EstTestClient anonymous(TestServer server) throws Exception {
    return new EstTestClient(server, sslContext(server.rootCertificate(), null, List.of()));
  }

  /** A client presenting {@code chain} (leaf first) with {@code key}. */
  public static EstTestClient withCertificate(TestServer server, PrivateKey key, List<X509Certificate> chain) throws Exception {
    return new EstTestClient(server, sslContext(server.rootCertificate(), key, chain));
  }

  /** An SSL context that trusts only {@code root} and has no client certificate. */
  public static SSLContext trustingOnly(X509Certificate root) throws Exception {
    return sslContext(root, null, List.of());
  }

  static SSLContext sslContext(X509Certificate root, PrivateKey key, List<X509Certificate> chain) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", root);
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance("PKIX");
    trustManagers.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(key == null ? null : new KeyManager[] {ClientKeyManager.of(key, chain)},
        trustManagers.getTrustManagers(), new SecureRandom());
    return context;
  }

  public HttpResponse<byte[]> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(server.uri(path)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** POST with an explicit body and headers (name, value, name, value...). */
  public HttpResponse<byte[]> post(String path, byte[] body, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(server.uri(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  public HttpResponse<byte[]> send(HttpRequest request) throws Exception {
    return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** POSTs a CSR the way EST clients do: base64 body, application/pkcs10, optional Basic credentials. */
  public HttpResponse<byte[]> enroll(String operation, Csr csr, String deviceId, String token) throws Exception {
    String[] headers = deviceId == null
        ? new String[] {"Content-Type", EstMediaType.PKCS10}
        : new String[] {"Content-Type", EstMediaType.PKCS10, "Authorization", basic(deviceId, token)};
    return post("/.well-known/est/" + operation, Base64Body.encode(csr.der()), headers);
  }

  public static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** The one certificate of a 200 enroll response. */
  public static X509Certificate issued(HttpResponse<byte[]> response) {
    if (response.statusCode() != 200) {
      throw new AssertionError("expected 200, got " + response.statusCode() + ": " + text(response));
    }
    List<X509Certificate> certificates = CertsOnly.decode(Base64Body.decode(response.body()));
    if (certificates.size() != 1) {
      throw new AssertionError("expected one certificate, got " + certificates.size());
    }
    return certificates.get(0);
  }

  public static String text(HttpResponse<byte[]> response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  public URI uri(String path) {
    return server.uri(path);
  }
}
