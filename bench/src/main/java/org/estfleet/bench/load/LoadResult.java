package org.estfleet.bench.load;

import java.util.List;
import java.util.Map;

/**
 * What a run measured, as written by {@code --json}.
 *
 * @param serverName the name the server was addressed by ({@code --server-name}); null: the URL's host
 * @param offeredRate requests a second sent on a fixed schedule ({@code --rate}); null for a
 *     closed loop
 * @param tlsProvider the client's TLS implementation, SunJSSE or BCJSSE
 * @param groups the TLS key exchange groups offered ({@code --groups}), most preferred first; null
 *     (absent in JSON) for the provider's default
 * @param interrupted the run was ended early (SIGINT or SIGTERM); {@code seconds} is the time until
 *     then, and requests still in flight were not counted
 * @param requests requests sent (answered or failed)
 * @param ok requests answered 200 with a certs-only CMS holding a certificate (for an enrollment,
 *     one for the CSR's key); a 202 (pending) is an outcome, not a success
 * @param throughput ok requests per second over the measured time
 * @param outcomes every outcome by name: HTTP status codes, {@code io:...} for transport failures,
 *     {@code bad-body} for a 200 without a usable certificate (the first reason is printed)
 * @param latencyMs latency percentiles of the ok requests, in milliseconds (from sending the
 *     request, including the TLS handshake on a new connection, to the end of the response); null
 *     (absent in JSON) when no request succeeded
 * @param warmupSeconds the unrecorded load before the measured time ({@code --warmup}); null for none
 * @param identities the client certificates enrolled for simplereenroll; null for other operations
 * @param unsent open loop: requests scheduled within the measured time that no worker was free to
 *     send (too few workers for the rate at this server's latency); null for a closed loop, and 0
 *     when the run ended otherwise than at its duration (by --count, the tokens, a signal)
 * @param reconnected requests sent again on a new connection because the server had closed the
 *     kept-alive one while it was idle (its keep-alive timeout), before the request reached it
 * @param countLimit the run's {@code --count}; null when not given
 * @param durationLimitSeconds the run's {@code --duration}; null when not given (a run with
 *     neither stops after 10 s)
 * @param timeoutSeconds each request's bound ({@code --timeout})
 * @param keyPool simpleenroll and serverkeygen: the keys made ahead and reused by CSRs, 0 for a
 *     new key each time; null for other operations
 * @param validateEveryHandshake whether the server's chain was validated in full at every
 *     handshake ({@code --validate-every-handshake})
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
    List<String> groups,
    String keyType,
    String javaRuntime,
    double seconds,
    boolean interrupted,
    long requests,
    long ok,
    double throughput,
    Map<String, Long> outcomes,
    Latency latencyMs,
    Double warmupSeconds,
    Integer identities,
    Long unsent,
    long reconnected,
    Long countLimit,
    Double durationLimitSeconds,
    double timeoutSeconds,
    Integer keyPool,
    boolean validateEveryHandshake) {

  /** Latency percentiles in milliseconds. */
  public record Latency(double p50, double p90, double p99, double p999, double max, double mean) {}
}
