package org.estfleet.bench.load;

import java.util.Map;

/**
 * What a run measured, as written by {@code --json}.
 *
 * @param serverName the name the server was addressed by ({@code --server-name}); null: the URL's host
 * @param offeredRate requests a second sent on a fixed schedule ({@code --rate}); null for a
 *     closed loop
 * @param tlsProvider the client's TLS implementation, SunJSSE or BCJSSE
 * @param interrupted the run was ended early (SIGINT or SIGTERM); {@code seconds} is the time until
 *     then, and requests still in flight were not counted
 * @param requests requests sent (answered or failed)
 * @param ok requests answered 2xx (with a certificate, for enrollments)
 * @param throughput ok requests per second over the measured time
 * @param outcomes every outcome by name: HTTP status codes, {@code io:...} for transport failures,
 *     {@code bad-body} for a 200 without a usable certificate
 * @param latencyMs latency percentiles of the ok requests, in milliseconds (from sending the
 *     request, including the TLS handshake on a new connection, to the end of the response); null
 *     (absent in JSON) when no request succeeded
 */
public record LoadResult(
    String tool,
    String url,
    String serverName,
    String op,
    int concurrency,
    boolean newConnectionPerRequest,
    boolean tlsResumption,
    Double offeredRate,
    String tls,
    String tlsProvider,
    String keyType,
    String javaRuntime,
    double seconds,
    boolean interrupted,
    long requests,
    long ok,
    double throughput,
    Map<String, Long> outcomes,
    Latency latencyMs) {

  /** Latency percentiles in milliseconds. */
  public record Latency(double p50, double p90, double p99, double p999, double max, double mean) {}
}
