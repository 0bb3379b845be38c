package org.estfleet.server.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.UnaryOperator;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstOperation;
import org.estfleet.est.EstPath;
import org.estfleet.server.metrics.ServerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outermost handler: at most {@code max} requests are served at once; one more is answered
 * {@code 503} with {@code Retry-After} at once, instead of queueing without bound behind a
 * burst (a fleet coming back after an outage). It also counts the responses by endpoint and
 * status with their latency, for {@code /metrics}, and by status for {@code /health}.
 */
final class ConcurrencyLimit extends Handler.Wrapper {
  private static final Logger LOG = LoggerFactory.getLogger(ConcurrencyLimit.class);
  private static final byte[] BUSY = "server busy; retry after the time in Retry-After\n".getBytes(StandardCharsets.UTF_8);

  private final Semaphore permits;
  private final String retryAfter;
  private final LongAdder shed = new LongAdder();
  private final ServerMetrics metrics;
  private final UnaryOperator<String> endpoints;

  ConcurrencyLimit(Handler handler, int max, Duration retryAfter, ServerMetrics metrics) {
    this(handler, max, retryAfter, metrics, ConcurrencyLimit::endpoint);
  }

  /** @param endpoints the endpoint label of a request's path */
  ConcurrencyLimit(Handler handler, int max, Duration retryAfter, ServerMetrics metrics,
      UnaryOperator<String> endpoints) {
    super(handler);
    this.permits = new Semaphore(max);
    this.retryAfter = Responses.retryAfterSeconds(retryAfter);
    this.metrics = metrics;
    this.endpoints = endpoints;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    long start = System.nanoTime();
    String endpoint = endpoints.apply(Request.getPathInContext(request));
    if (!permits.tryAcquire()) {
      shed.increment();
      metrics.response(endpoint, 503, System.nanoTime() - start);
      if (shed.sum() % 1000 == 1) {
        LOG.warn("at the limit of concurrent requests: answering 503 (Retry-After {}s); {} shed so far",
            retryAfter, shed.sum());
      }
      response.setStatus(503);
      response.getHeaders().put(HttpHeader.RETRY_AFTER, retryAfter);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, BUSY.length);
      response.write(true, ByteBuffer.wrap(BUSY), callback);
      return true;
    }
    AtomicBoolean held = new AtomicBoolean(true);
    Runnable release = () -> {
      if (held.getAndSet(false)) {
        permits.release();
        metrics.response(endpoint, response.getStatus(), System.nanoTime() - start);
      }
    };
    Callback releasing = new Callback() {
      @Override
      public void succeeded() {
        release.run();
        callback.succeeded();
      }

      @Override
      public void failed(Throwable failure) {
        release.run();
        callback.failed(failure);
      }

      @Override
      public InvocationType getInvocationType() {
        return callback.getInvocationType();
      }
    };
    try {
      if (super.handle(request, response, releasing)) {
        return true;
      }
    } catch (Exception | Error e) {
      release.run();
      throw e;
    }
    release.run();
    return false;
  }

  /**
   * The endpoint a path names, as {@code /metrics} labels it: the EST operation (with or without
   * a label), {@code health}, {@code metrics}, or {@code other} (a few values, whatever paths
   * clients send).
   */
  static String endpoint(String path) {
    if (path == null) {
      return "other";
    }
    if (path.startsWith(EstPath.PREFIX)) {
      String last = path.substring(path.lastIndexOf('/') + 1);
      for (EstOperation operation : EstOperation.values()) {
        if (operation.segment().equals(last)) {
          return operation.segment();
        }
      }
      return "other";
    }
    return switch (path) {
      case HealthHandler.PATH -> "health";
      case MetricsHandler.PATH -> "metrics";
      default -> "other";
    };
  }

  /** The endpoint a path names on the monitoring listener, which serves no EST: health, metrics or other. */
  static String monitoringEndpoint(String path) {
    String endpoint = endpoint(path);
    return endpoint.equals("health") || endpoint.equals("metrics") ? endpoint : "other";
  }

  /** How many responses of each status were sent (by status, ascending): the metrics' count, by endpoint summed. */
  Map<Integer, Long> responses() {
    return metrics.responsesByStatus();
  }
}
