package org.estfleet.server.http;

import java.io.ByteArrayOutputStream;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstException;
import org.estfleet.server.metrics.ServerMetrics;

/**
 * {@code GET /metrics}: the server's figures in the Prometheus text format, for a scraper; no
 * authentication, as {@code /health}.
 */
final class MetricsHandler extends Handler.Abstract {
  static final String PATH = "/metrics";

  private final ServerMetrics metrics;

  MetricsHandler(ServerMetrics metrics) {
    super(InvocationType.BLOCKING);
    this.metrics = metrics;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    if (!EstHandler.allows("GET", request.getMethod())) {
      throw EstException.methodNotAllowed("/metrics takes GET, not " + request.getMethod(), EstHandler.allowHeader("GET"));
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
    metrics.write(body);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    Responses.bytes(response, callback, 200, metrics.contentType(), body.toByteArray());
    return true;
  }
}
