package org.estfleet.server.http;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstException;
import org.estfleet.json.Json;

/** {@code GET /health}: the server's report as JSON, for monitoring; no authentication. */
final class HealthHandler extends Handler.Abstract {
  static final String PATH = "/health";

  private final Supplier<?> report;

  HealthHandler(Supplier<?> report) {
    super(InvocationType.BLOCKING);
    this.report = report;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    if (!request.getMethod().equals("GET")) {
      throw EstException.methodNotAllowed("/health takes GET, not " + request.getMethod(), "GET");
    }
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    Responses.bytes(response, callback, 200, "application/json",
        Json.write(report.get()).getBytes(StandardCharsets.UTF_8));
    return true;
  }
}
