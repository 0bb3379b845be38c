package org.estfleet.server.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.DetectorConnectionFactory;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;

/**
 * The first protocol of the TLS port: a connection whose first bytes are a TLS handshake goes on
 * to TLS; any other (an operator's {@code curl http://...}, a device configured with
 * {@code http://}) gets one plain-text {@code 400} saying to use {@code https://}, and is closed,
 * instead of a connection dropped without a word. Nothing of the EST service is reachable
 * without TLS: the answer is written here, before any HTTP parsing or handler.
 */
final class PlainHttpRefusal extends DetectorConnectionFactory {
  static final String MESSAGE = "400 Bad Request: this port speaks HTTPS (TLS); use https://";

  private static final byte[] RESPONSE;

  static {
    byte[] body = (MESSAGE + "\n").getBytes(StandardCharsets.US_ASCII);
    String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
        + body.length + "\r\nConnection: close\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    RESPONSE = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, RESPONSE, 0, headBytes.length);
    System.arraycopy(body, 0, RESPONSE, headBytes.length, body.length);
  }

  PlainHttpRefusal(SslConnectionFactory tls) {
    super(tls);
  }

  @Override
  protected void nextProtocol(Connector connector, EndPoint endPoint, ByteBuffer buffer) {
    // Only the output is shut (FIN after the answer): closing the socket with the rest of the
    // request unread would reset the connection, and the client could lose the answer. The
    // connection is then closed by the client, or by the idle timeout.
    endPoint.write(Callback.from(endPoint::shutdownOutput, failure -> endPoint.close()), ByteBuffer.wrap(RESPONSE));
  }
}
