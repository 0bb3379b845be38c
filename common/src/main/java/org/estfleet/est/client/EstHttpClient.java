package org.estfleet.est.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.bouncycastle.est.ESTClient;
import org.bouncycastle.est.ESTException;
import org.bouncycastle.est.ESTRequest;
import org.bouncycastle.est.ESTRequestBuilder;
import org.bouncycastle.est.ESTResponse;
import org.bouncycastle.est.Source;
import org.bouncycastle.est.TLSUniqueProvider;
import org.bouncycastle.est.jcajce.ChannelBindingProvider;
import org.bouncycastle.est.jcajce.JsseDefaultHostnameAuthorizer;

/**
 * The HTTP under Bouncy Castle's EST client ({@code org.bouncycastle.est.ESTService}) in place
 * of its own: a connection per request as before, each answer read whole by {@link HttpAnswer}
 * and handed to Bouncy Castle in the form it reads, so that servers it misreads are usable (no
 * {@code Content-Transfer-Encoding} header, chunked or connection-delimited bodies, a 401
 * challenge with a text body, media types in upper case). Like Bouncy Castle's: the host named
 * by the server certificate, no DES, NULL, export or anonymous cipher suites, nor TLS 1.0; unlike
 * it, redirects followed only within the server (at most {@value #MAX_REDIRECTS}), since a
 * request may carry the device's token; the channel binding of the connection offered to PoP
 * linking.
 */
final class EstHttpClient implements ESTClient {
  private static final int MAX_REDIRECTS = 5;
  private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);
  private static final JsseDefaultHostnameAuthorizer HOSTNAMES = new JsseDefaultHostnameAuthorizer(null);

  private final SSLSocketFactory sockets;
  /** The channel binding of PoP-linked requests; null for the others. */
  private final ChannelBindingProvider binding;
  /** How long an answer may take to arrive whole, once the request is sent. */
  private final java.time.Duration answerWithin;

  /**
   * @param sockets connects, with its timeouts, and makes the TLS connection
   * @param binding what gives a connection's {@code tls-unique} binding, or null
   * @param answerWithin how long an answer may take to arrive whole
   */
  EstHttpClient(SSLSocketFactory sockets, ChannelBindingProvider binding, java.time.Duration answerWithin) {
    this.sockets = sockets;
    this.binding = binding;
    this.answerWithin = answerWithin;
  }

  /** The text of the 4xx or 5xx answer {@code response} was made from; "" for any other. */
  static String errorText(ESTResponse response) {
    return response.getSource() instanceof Connection connection ? connection.errorText : "";
  }

  @Override
  public ESTResponse doRequest(ESTRequest request) throws IOException {
    ESTRequest current = request;
    for (int redirects = 0; ; redirects++) {
      ESTResponse response = perform(current);
      String location = REDIRECTS.contains(response.getStatusCode()) ? response.getHeader("Location") : null;
      if (location == null) {
        return response;
      }
      response.close();
      URL next;
      try {
        next = new URL(current.getURL(), location);
      } catch (MalformedURLException e) {
        throw new ESTException("redirected to a malformed URL: " + Answers.clean(location), null,
            response.getStatusCode(), null);
      }
      URL from = current.getURL();
      if (!"https".equalsIgnoreCase(next.getProtocol()) || !next.getHost().equalsIgnoreCase(from.getHost())
          || port(next) != port(from)) {
        // Not followed: the request carries the device's credentials (a token after a challenge).
        throw new ESTException("redirected to " + Answers.clean(next.toString()) + ", another server than "
            + from.getHost() + ":" + port(from) + "; give that URL as the server if it is the one to use", null,
            response.getStatusCode(), null);
      }
      if (redirects == MAX_REDIRECTS) {
        throw new ESTException("redirected more than " + MAX_REDIRECTS + " times", null, response.getStatusCode(), null);
      }
      current = new ESTRequestBuilder(current).withURL(next).build();
    }
  }

  private static int port(URL url) {
    return url.getPort() < 0 ? url.getDefaultPort() : url.getPort();
  }

  private ESTResponse perform(ESTRequest request) throws IOException {
    Connection connection = open(request.getURL());
    boolean answered = false;
    try {
      // PoP linking signs the CSR again once the connection, and so its binding, exists.
      ESTRequest sent = request.getListener() == null ? request : request.getListener().onConnection(connection, request);
      OutputStream out = new BufferedOutputStream(connection.getOutputStream());
      out.write(head(sent).getBytes(StandardCharsets.ISO_8859_1));
      sent.writeData(out);
      out.flush();
      ESTResponse response = sent.getHijacker() != null ? sent.getHijacker().hijack(sent, connection)
          : new ESTResponse(sent, connection);
      answered = true;
      return response;
    } finally {
      if (!answered) {
        connection.close();
      }
    }
  }

  /** The request line and headers, one request per connection (as Bouncy Castle's client does). */
  private static String head(ESTRequest request) {
    URL url = request.getURL();
    StringBuilder head = new StringBuilder(request.getMethod()).append(' ').append(url.getPath());
    if (url.getQuery() != null) {
      head.append('?').append(url.getQuery());
    }
    head.append(" HTTP/1.1\r\nHost: ").append(url.getHost());
    if (url.getPort() >= 0) {
      head.append(':').append(url.getPort());
    }
    head.append("\r\n");
    for (Map.Entry<String, String[]> header : request.getHeaders().entrySet()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (name.equals("host") || name.equals("connection")) {
        continue;
      }
      for (String value : header.getValue()) {
        head.append(header.getKey()).append(": ").append(value).append("\r\n");
      }
    }
    return head.append("Connection: close\r\n\r\n").toString();
  }

  private Connection open(URL url) throws IOException {
    String host = url.getHost().startsWith("[") ? url.getHost().substring(1, url.getHost().length() - 1)
        : url.getHost();
    SSLSocket socket = (SSLSocket) sockets.createSocket(host, url.getPort() < 0 ? 443 : url.getPort());
    try {
      socket.startHandshake();
      if (!HOSTNAMES.verified(host, socket.getSession())) {
        throw new IOException("Hostname was not verified: " + host);
      }
      String suite = socket.getSession().getCipherSuite().toLowerCase(Locale.ROOT);
      if (suite.contains("_des_") || suite.contains("_des40_") || suite.contains("_3des_") || suite.contains("null")
          || suite.contains("anon") || suite.contains("export")) {
        throw new javax.net.ssl.SSLHandshakeException("the server chose the cipher suite " + suite
            + ", which an EST client must not use (RFC 7030 section 3.3.1)");
      }
      String protocol = socket.getSession().getProtocol();
      if (protocol.equalsIgnoreCase("TLSv1") || protocol.startsWith("SSL")) {
        throw new javax.net.ssl.SSLHandshakeException("the server chose " + protocol
            + "; EST needs TLS 1.1 or later (RFC 7030 section 3.3.1)");
      }
      return new Connection(socket, binding, answerWithin);
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  /** One TLS connection: its answer is read whole at the first read ({@link HttpAnswer}). */
  private static final class Connection implements Source<SSLSession>, TLSUniqueProvider {
    private final SSLSocket socket;
    private final ChannelBindingProvider binding;
    private final java.time.Duration answerWithin;
    private InputStream answer;
    private String errorText = "";

    Connection(SSLSocket socket, ChannelBindingProvider binding, java.time.Duration answerWithin) {
      this.socket = socket;
      this.binding = binding;
      this.answerWithin = answerWithin;
    }

    @Override
    public InputStream getInputStream() throws IOException {
      if (answer == null) {
        HttpAnswer read = HttpAnswer.read(new BufferedInputStream(socket.getInputStream()), Answers.READ_LIMIT,
            answerWithin);
        errorText = read.errorText();
        answer = new ByteArrayInputStream(read.rewritten());
      }
      return answer;
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
      return socket.getOutputStream();
    }

    @Override
    public SSLSession getSession() {
      return socket.getSession();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }

    @Override
    public boolean isTLSUniqueAvailable() {
      return binding != null && binding.canAccessChannelBinding(socket);
    }

    @Override
    public byte[] getTLSUnique() {
      if (!isTLSUniqueAvailable()) {
        throw new IllegalStateException("no tls-unique binding on this connection");
      }
      return binding.getChannelBinding(socket, "tls-unique");
    }
  }
}
