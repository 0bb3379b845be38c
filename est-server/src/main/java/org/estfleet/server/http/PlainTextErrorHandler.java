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
    byte[] body = line(status, detail(status, request.getAttribute(ERROR_MESSAGE),
        request.getAttribute(ERROR_EXCEPTION)));
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
    return true;
  }

  /**
   * Jetty's message, or where it has none of its own (a request target its URI parser refused:
   * {@code %zz}, {@code %00}), the parser's reason.
   */
  private static Object detail(int status, Object message, Object exception) {
    boolean bare = !(message instanceof String text) || text.isBlank() || text.equals(HttpStatus.getMessage(status));
    if (!bare || !(exception instanceof Throwable thrown)) {
      return message;
    }
    for (Throwable cause = thrown.getCause(); cause != null; cause = cause.getCause()) {
      if (cause instanceof NumberFormatException) {
        return "malformed percent-encoding in the request target";
      }
      if (cause instanceof IllegalArgumentException && cause.getMessage() != null) {
        String reason = cause.getMessage();
        return reason.length() > 200 ? reason.substring(0, 200) + "..." : reason;
      }
    }
    return message;
  }

  private static byte[] line(int status, Object message) {
    String text = status + " " + HttpStatus.getMessage(status);
    if (message instanceof String detail && !detail.isBlank() && !detail.equals(HttpStatus.getMessage(status))) {
      text += ": " + detail.replaceAll("[\\r\\n]+", " ");
    }
    return (text + "\n").getBytes(StandardCharsets.UTF_8);
  }
}
