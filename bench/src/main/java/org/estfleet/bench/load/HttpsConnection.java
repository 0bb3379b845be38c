package org.estfleet.bench.load;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.estfleet.tls.KeyExchangeGroups;

/**
 * One HTTP/1.1 connection over TLS, as small as a load generator needs: a request written in one
 * go, the response read by {@code Content-Length}, chunked encoding or connection close, interim
 * (1xx) responses skipped, the whole answer within the timeout. It only ever connects to the host
 * and port it was made for, and follows no redirect.
 */
final class HttpsConnection implements AutoCloseable {
  private static final int MAX_BODY = 4 * 1024 * 1024;

  private final Socket plain;
  private final java.util.Set<Socket> registry;
  private final SSLSocket socket;
  private final Deadline deadline;
  private final InputStream in;
  private final OutputStream out;
  private final String host;
  private final int timeoutMillis;
  private boolean reusable = true;
  /** Responses read in full on this connection. */
  private int answered;
  /** When the last response was read in full, and how long the connection had then been idle before the exchange under way. */
  private long answeredAt;
  private long idleBefore;
  /**
   * How long a connection must have been idle for a failure without a byte of answer to be taken
   * for its closing by the server (a keep-alive timeout) rather than a failure of the request.
   */
  static final long IDLE_CLOSE_NANOS = 250_000_000L;

  /** A response: its status, headers (lower-case names) and body. */
  record Response(int status, Map<String, String> headers, byte[] body) {}

  private HttpsConnection(Socket plain, SSLSocket socket, String host, int timeoutMillis,
      java.util.Set<Socket> registry) throws IOException {
    this.plain = plain;
    this.registry = registry;
    this.socket = socket;
    this.deadline = new Deadline(socket.getInputStream());
    this.in = new BufferedInputStream(deadline, 16 * 1024);
    this.out = socket.getOutputStream();
    this.host = host;
    this.timeoutMillis = timeoutMillis;
  }

  /** Connects and completes the TLS handshake; the server's certificate must name the URL's host. */
  static HttpsConnection open(URI base, SSLSocketFactory factory, String[] protocols, int timeoutMillis)
      throws IOException {
    return open(base, null, factory, protocols, null, timeoutMillis,
        java.util.concurrent.ConcurrentHashMap.newKeySet());
  }

  /**
   * Connects to the URL's host and port and completes the TLS handshake as with a server called
   * {@code serverName} (null: the URL's host): the name sent in SNI and {@code Host}, and the one
   * the server's certificate must have. {@code groups}: the key exchange groups to offer (null:
   * the TLS provider's).
   */
  static HttpsConnection open(URI base, String serverName, SSLSocketFactory factory, String[] protocols,
      String[] groups, int timeoutMillis, java.util.Set<Socket> registry) throws IOException {
    int port = base.getPort() < 0 ? 443 : base.getPort();
    String name = serverName == null ? base.getHost() : serverName;
    Socket plain = new Socket();
    // Registered while connecting too: closing the registry's sockets ends every wait on them.
    registry.add(plain);
    try {
      plain.setTcpNoDelay(true);
      plain.connect(new InetSocketAddress(base.getHost(), port), timeoutMillis);
      // Not closing the TCP connection with the TLS one (autoClose false): close() closes the TCP
      // connection itself after the TLS close, and abort() without it.
      SSLSocket tls = (SSLSocket) factory.createSocket(plain, name, port, false);
      javax.net.ssl.SSLParameters parameters = tls.getSSLParameters();
      parameters.setProtocols(protocols);
      // The server's certificate must name the host of --url (RFC 7030 section 3.6, RFC 6125): a
      // chain under --trust alone would let any server of that CA collect the tokens.
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      tls.setSSLParameters(parameters);
      if (groups != null) {
        KeyExchangeGroups.offer(tls, groups);
      }
      tls.setSoTimeout(timeoutMillis);
      tls.startHandshake();
      return new HttpsConnection(plain, tls, name + (base.getPort() < 0 ? "" : ":" + base.getPort()), timeoutMillis,
          registry);
    } catch (IOException | RuntimeException e) {
      plain.close();
      registry.remove(plain);
      throw e;
    }
  }

  /** Whether the server left the connection open for another request. */
  boolean reusable() {
    return reusable && !socket.isClosed();
  }

  /**
   * Whether the server has closed the connection since its last response (a server at its
   * connection limit closes idle ones), found by reading for at most a millisecond: anything that
   * arrives unasked, its end included, makes the connection unusable.
   */
  boolean closedMeanwhile() {
    if (!reusable()) {
      return true;
    }
    deadline.start(0); // this read's own timeout, not an exchange's
    try {
      int timeout = socket.getSoTimeout();
      socket.setSoTimeout(1);
      try {
        in.read();
        return true;
      } finally {
        socket.setSoTimeout(timeout);
      }
    } catch (SocketTimeoutException quiet) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /**
   * Whether the last exchange failed on a connection that had answered before and then been idle
   * for a while ({@link #IDLE_CLOSE_NANOS}), without a byte of its answer and not by the timeout:
   * the server had closed the idle connection (as servers do after their keep-alive timeout), so
   * the request did not reach it and may go again on a new one. On a busy connection the same
   * failure is the server's answer to the load, and is counted as such.
   */
  boolean closedWhileIdle(IOException failure) {
    return answered > 0 && idleBefore >= IDLE_CLOSE_NANOS && !deadline.received
        && !(failure instanceof SocketTimeoutException);
  }

  /**
   * Sends a request and reads its response, all of it within the timeout (a server sending it a
   * byte at a time fails it too).
   */
  Response exchange(String method, String path, Map<String, String> headers, byte[] body) throws IOException {
    long start = System.nanoTime();
    idleBefore = answered == 0 ? 0 : start - answeredAt;
    deadline.start(start + timeoutMillis * 1_000_000L);
    StringBuilder head = new StringBuilder(256)
        .append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
        .append("Host: ").append(host).append("\r\n");
    headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
    if (body != null) {
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    head.append("\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
    byte[] request = headBytes;
    if (body != null) {
      request = new byte[headBytes.length + body.length];
      System.arraycopy(headBytes, 0, request, 0, headBytes.length);
      System.arraycopy(body, 0, request, headBytes.length, body.length);
    }
    out.write(request);
    out.flush();
    Response response = read(method.equals("HEAD"));
    answered++;
    answeredAt = System.nanoTime();
    return response;
  }

  private Response read(boolean head) throws IOException {
    String statusLine;
    int status;
    Map<String, String> headers;
    do {
      // An interim response (100 Continue, 103 Early Hints), asked for or not, precedes the
      // final one (RFC 9110 section 15.2): skipped, or the next request would read this one's.
      statusLine = line();
      if (!statusLine.startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP/1.x response: '" + statusLine + "'");
      }
      try {
        status = Integer.parseInt(statusLine.substring(9, 12));
      } catch (RuntimeException e) {
        throw new IOException("malformed status line: '" + statusLine + "'");
      }
      headers = new TreeMap<>();
      for (String line = line(); !line.isEmpty(); line = line()) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          headers.merge(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim(),
              (a, b) -> a + ", " + b);
        }
      }
    } while (status >= 100 && status < 200 && status != 101);
    String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
    if (connection.contains("close") || statusLine.startsWith("HTTP/1.0")) {
      reusable = false;
    }
    byte[] body;
    if (head || status == 204 || status == 304 || (status >= 100 && status < 200)) {
      body = new byte[0];
    } else if (headers.getOrDefault("transfer-encoding", "").toLowerCase(Locale.ROOT).contains("chunked")) {
      body = chunked();
    } else if (headers.containsKey("content-length")) {
      long length = Long.parseLong(headers.get("content-length"));
      if (length > MAX_BODY) {
        throw new IOException("response body of " + length + " bytes is over " + MAX_BODY);
      }
      body = in.readNBytes((int) length);
      if (body.length < length) {
        throw new IOException("the response body ended after " + body.length + " of " + length + " bytes");
      }
    } else {
      reusable = false;
      body = in.readNBytes(MAX_BODY);
    }
    return new Response(status, headers, body);
  }

  private byte[] chunked() throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String size = line();
      int semicolon = size.indexOf(';');
      int length = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
      if (length == 0) {
        while (!line().isEmpty()) {
          // trailers
        }
        return body.toByteArray();
      }
      if (body.size() + length > MAX_BODY) {
        throw new IOException("chunked response body is over " + MAX_BODY + " bytes");
      }
      body.write(in.readNBytes(length));
      line();
    }
  }

  private String line() throws IOException {
    StringBuilder line = new StringBuilder(64);
    int c;
    while ((c = in.read()) >= 0) {
      if (c == '\n') {
        int end = line.length();
        return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
      }
      if (line.length() > 16 * 1024) {
        throw new IOException("response header line over 16 KiB");
      }
      line.append((char) c);
    }
    throw new IOException("the server closed the connection");
  }

  /**
   * Closes the connection and drops its TLS session from the client's cache, so that the next
   * connection of the same context makes a full handshake.
   */
  public void closeForgettingSession() {
    socket.getSession().invalidate();
    close();
  }

  /**
   * Closes the TCP connection without a close_notify: for a connection that failed (timed out,
   * reset), where a TLS close could wait on the server once more.
   */
  void abort() {
    abort(plain);
    registry.remove(plain);
  }

  /**
   * Closes {@code socket}, the TCP connection under a TLS one, from any thread: a connect, read or
   * write on it fails at once (closing the TLS socket from another thread could wait to send its
   * close_notify).
   */
  static void abort(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // closing: nothing left to do
    }
  }

  @Override
  public void close() {
    try {
      // SunJSSE's TLS 1.3 close waits for the server's close_notify up to the read timeout: a
      // server that answers but never says goodbye would hold the worker that long.
      socket.setSoTimeout(Math.min(timeoutMillis, 1000));
      socket.close();
    } catch (IOException e) {
      // closing: nothing left to do
    } finally {
      abort();
    }
  }

  /**
   * The TLS stream under the buffer, reading nothing past the exchange's deadline: each read
   * waits at most the time left (the socket's timeout alone bounds each read, not the answer).
   */
  private final class Deadline extends java.io.FilterInputStream {
    private long deadlineNanos;
    /** Whether a byte of the current exchange's answer has arrived. */
    private boolean received;

    Deadline(InputStream in) {
      super(in);
    }

    void start(long deadlineNanos) {
      this.deadlineNanos = deadlineNanos;
      received = false;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      if (deadlineNanos != 0) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          throw new SocketTimeoutException("no complete answer within " + timeoutMillis + " ms");
        }
        socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000)));
      }
      int n;
      try {
        n = super.read(buffer, offset, length);
      } catch (SocketTimeoutException e) {
        throw deadlineNanos == 0 ? e : new SocketTimeoutException("no complete answer within " + timeoutMillis + " ms");
      }
      if (n > 0) {
        received = true;
      }
      return n;
    }
  }
}
