package org.estfleet.server.auth;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a gateway adds to a request it forwards for a device (the headers of
 * {@code README.md#gateway}): its name for the request, and the certificate chain the device
 * authenticated to it with, when the device used one. A token device's token travels as HTTP
 * Basic, as it would directly.
 *
 * @param requestId the gateway's name for the request; the same request forwarded twice gets the
 *     same certificate
 * @param deviceChain the device's certificate chain, leaf first; empty for a token device
 * @param receivedAt when the gateway accepted the request from the device, or null: a device
 *     certificate is judged as of then, since the gateway may have held the request through an
 *     outage while the certificate expired
 * @param popLinked whether the gateway checked that the CSR was linked to the device's TLS
 *     connection to it (RFC 7030 section 3.5), which the CA cannot check itself
 */
public record Forwarding(String requestId, List<X509Certificate> deviceChain, Instant receivedAt, boolean popLinked) {
  /** The request header naming the request. */
  public static final String REQUEST_ID_HEADER = "EST-Fleet-Request-Id";
  /** The request header carrying the device's certificates: base64 DER, comma-separated, leaf first. */
  public static final String DEVICE_CHAIN_HEADER = "EST-Fleet-Device-Certificate";
  /**
   * How the CA's 403 to a client that may not forward begins: a gateway seeing it knows the
   * fault is its own certificate, not the device's request.
   */
  public static final String NOT_A_GATEWAY = "forwarding headers are accepted only from a gateway";
  /** The request header saying when the gateway accepted the request: an ISO-8601 instant. */
  public static final String RECEIVED_AT_HEADER = "EST-Fleet-Received-At";
  /** The request header saying the gateway checked PoP linking: {@value #POP_LINKED}. */
  public static final String POP_LINKED_HEADER = "EST-Fleet-Pop-Linked";
  /** The value of {@link #POP_LINKED_HEADER}: the binding the gateway compared. */
  public static final String POP_LINKED = "tls-unique";

  public Forwarding {
    Objects.requireNonNull(requestId, "requestId");
    if (!requestId.matches("[A-Za-z0-9-]{1,64}")) {
      throw new IllegalArgumentException(REQUEST_ID_HEADER + " must be 1-64 letters, digits and hyphens");
    }
    deviceChain = List.copyOf(deviceChain);
  }
}
