package org.estfleet.server.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Errors Jetty raises itself, before any EST handler runs (a malformed request line, headers
 * too large): one line of {@code text/plain} like every other EST error, never an HTML page or
 * a stack trace.
 */
final class PlainTextErrorHandler extends ErrorHandler {
  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    int status = request.getAttribute(ERROR_STATUS) instanceof Integer s ? s : response.getStatus();
    byte[] body = line(status, request.getAttribute(ERROR_MESSAGE));
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
    return true;
  }

  private static byte[] line(int status, Object message) {
    String text = status + " " + HttpStatus.getMessage(status);
    if (message instanceof String detail && !detail.isBlank() && !detail.equals(HttpStatus.getMessage(status))) {
      text += ": " + detail.replaceAll("[\\r\\n]+", " ");
    }
    return (text + "\n").getBytes(StandardCharsets.UTF_8);
  }
}
