package org.estfleet.server.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstException;

/** Writes complete responses: always with {@code Content-Length}, in one write that completes the callback. */
final class Responses {
  private Responses() {}

  /**
   * A base64 EST body (RFC 8951). {@code Content-Transfer-Encoding: base64} is sent as well, for
   * older clients that look for it; RFC 8951 lets newer ones ignore it.
   */
  static void base64(Response response, Callback callback, int status, String contentType, byte[] der) {
    response.getHeaders().put("Content-Transfer-Encoding", "base64");
    bytes(response, callback, status, contentType, Base64Body.encode(der));
  }

  /** A one-line {@code text/plain} body. */
  static void text(Response response, Callback callback, int status, String line) {
    bytes(response, callback, status, "text/plain; charset=utf-8", (line + "\n").getBytes(StandardCharsets.UTF_8));
  }

  /** A body with no content (204). */
  static void empty(Response response, Callback callback, int status) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0L);
    response.write(true, null, callback);
  }

  static void bytes(Response response, Callback callback, int status, String contentType, byte[] body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  /** The value of {@code Retry-After}: whole seconds, rounded up, at least 1. */
  static String retryAfterSeconds(Duration retryAfter) {
    return Long.toString(EstException.retryAfterSeconds(retryAfter));
  }
}
