package org.estfleet.server.http;

import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstException;
import org.estfleet.json.Json;

/**
 * {@code GET /health}: the server's report as JSON, with the responses sent since the start by
 * status, for monitoring; no authentication.
 */
final class HealthHandler extends Handler.Abstract {
  static final String PATH = "/health";

  private final Supplier<?> report;
  private final Supplier<Map<Integer, Long>> responses;

  /**
   * @param report the mode's report
   * @param responses the responses sent so far by HTTP status, added to the report
   */
  HealthHandler(Supplier<?> report, Supplier<Map<Integer, Long>> responses) {
    super(InvocationType.BLOCKING);
    this.report = report;
    this.responses = responses;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    if (!EstHandler.allows("GET", request.getMethod())) {
      throw EstException.methodNotAllowed("/health takes GET, not " + request.getMethod(), EstHandler.allowHeader("GET"));
    }
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    JsonObject tree = Json.gson().toJsonTree(report.get()).getAsJsonObject();
    JsonObject counts = new JsonObject();
    responses.get().forEach((status, count) -> counts.addProperty(Integer.toString(status), count));
    tree.add("responses", counts);
    Responses.bytes(response, callback, 200, "application/json", Json.write(tree).getBytes(StandardCharsets.UTF_8));
    return true;
  }
}
