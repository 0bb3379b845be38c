package org.estfleet.server.http;

import java.io.IOException;
import java.io.InputStream;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;
import org.estfleet.est.Base64Body;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.EstException;
import org.estfleet.est.EstMediaType;
import org.estfleet.est.EstOperation;
import org.estfleet.est.ServerGeneratedKey;
import org.estfleet.pki.Certificates;
import org.estfleet.server.auth.BasicCredentials;
import org.estfleet.server.auth.Credentials;
import org.estfleet.server.auth.Forwarding;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.server.enroll.EstService;
import org.estfleet.tls.ChannelBinding;

/**
 * {@code POST /simpleenroll} and {@code POST /simplereenroll} (RFC 7030 sections 4.2.1-4.2.3):
 * a base64 PKCS#10 body in, the issued certificate (certs-only, base64) out, or 202 with
 * {@code Retry-After} when the CA defers. {@code POST /serverkeygen} (section 4.4) takes the same
 * request and answers the key the server generated with its certificate, {@code multipart/mixed}.
 */
final class EnrollHandler extends EstHandler {
  /** Oversized bodies up to this size are read to their end before the 413, so that it arrives. */
  private static final long DRAIN_LIMIT = 1024 * 1024;

  private final EstService service;
  private final EstOperation operation;
  private final int maxRequestBytes;
  private final Duration requestTimeout;

  EnrollHandler(EstService service, EstOperation operation, int maxRequestBytes, Duration requestTimeout) {
    super(operation);
    if (operation != EstOperation.SIMPLE_ENROLL && operation != EstOperation.SIMPLE_REENROLL
        && operation != EstOperation.SERVER_KEYGEN) {
      throw new IllegalArgumentException("not an enroll operation: " + operation);
    }
    this.service = service;
    this.operation = operation;
    this.maxRequestBytes = maxRequestBytes;
    this.requestTimeout = requestTimeout;
  }

  @Override
  void serve(String label, Request request, Response response, Callback callback) throws Exception {
    byte[] der;
    Credentials credentials;
    try {
      der = readCsr(label, request);
      credentials = credentials(request);
    } catch (EstException refused) {
      // Refused before the service saw it: audited here, as every enrollment answer is.
      // A gateway's forward names the device only in its headers, unread: the gateway is named.
      boolean forwarded = request.getHeaders().contains(Forwarding.REQUEST_ID_HEADER);
      service.refusedUnread(operation.segment(), label, Request.getRemoteAddr(request),
          forwarded ? null : claimedIdentity(request), forwarded ? certificateName(request) : null, refused);
      throw refused;
    }
    if (operation == EstOperation.SERVER_KEYGEN) {
      ServerGeneratedKey generated = service.serverKeygen(label, credentials, der, Request.getRemoteAddr(request));
      // A private key: no cache along the way may keep it (RFC 9111 section 5.2.2.5).
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      Responses.bytes(response, callback, 200, ServerGeneratedKey.CONTENT_TYPE, generated.encode());
      return;
    }
    IssueResult result = operation == EstOperation.SIMPLE_ENROLL
        ? service.enroll(label, credentials, der, Request.getRemoteAddr(request))
        : service.reenroll(label, credentials, der, Request.getRemoteAddr(request));
    if (result instanceof IssueResult.Issued issued) {
      // RFC 7030 4.2.3: the response holds only the issued certificate; chains come from /cacerts.
      byte[] pkcs7 = CertsOnly.encode(List.of(issued.certificate()));
      Responses.base64(response, callback, 200, EstMediaType.PKCS7_CERTS_ONLY, pkcs7);
    } else if (result instanceof IssueResult.Pending pending) {
      // No body: the Bouncy Castle EST client closes a 202 unread and fails if it has one.
      response.getHeaders().put(HttpHeader.RETRY_AFTER, Responses.retryAfterSeconds(pending.retryAfter()));
      Responses.empty(response, callback, 202);
    }
  }

  /**
   * The identity a request's credentials name (Basic user id, else what the client certificate
   * claims: {@link EstService#claimedIdentity}), if readable.
   */
  private String claimedIdentity(Request request) {
    String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (authorization != null) {
      try {
        return BasicCredentials.parse(authorization).userId();
      } catch (EstException unreadable) {
        return null;
      }
    }
    if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData ssl
        && ssl.peerCertificates() != null && ssl.peerCertificates().length > 0) {
      return service.claimedIdentity(ssl.peerCertificates()[0]);
    }
    return null;
  }

  /** The client certificate the request came with, or null. */
  private static java.security.cert.X509Certificate clientCertificate(Request request) {
    if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData ssl
        && ssl.peerCertificates() != null && ssl.peerCertificates().length > 0) {
      return ssl.peerCertificates()[0];
    }
    return null;
  }

  /** The CN of the client certificate the request came with, if any. */
  private static String certificateName(Request request) {
    java.security.cert.X509Certificate certificate = clientCertificate(request);
    return certificate == null ? null : Certificates.commonName(certificate.getSubjectX500Principal()).orElse(null);
  }

  /** The CSR's DER from the body, after the label, its media type and content coding are checked. */
  private byte[] readCsr(String label, Request request) throws EstException {
    // The body is read first, whatever the headers: a refusal that left it unread would have
    // Jetty close the connection, and a client that sent its next request on it meanwhile would
    // lose that request.
    byte[] body = readBody(request);
    // A gateway's forward to a gateway is misdirected (421), whatever else is wrong with it.
    service.checkForwardTaken(request.getHeaders().contains(Forwarding.REQUEST_ID_HEADER), clientCertificate(request));
    // A label this server does not have is the first thing wrong with the request (404), whatever its body.
    service.checkLabel(label);
    String contentType = single(request, HttpHeader.CONTENT_TYPE);
    if (!EstMediaType.hasBaseType(contentType, EstMediaType.PKCS10)) {
      throw EstException.unsupportedMediaType("Content-Type is "
          + (contentType == null ? "missing" : "'" + contentType + "'")
          + "; send the CSR as application/pkcs10 (base64 of the DER)");
    }
    checkTransferCodings(request);
    String encoding = request.getHeaders().get(HttpHeader.CONTENT_ENCODING);
    if (encoding != null && !encoding.isBlank() && !encoding.trim().equalsIgnoreCase("identity")) {
      // RFC 9110 section 8.4: a content coding the server does not apply is refused with 415.
      throw EstException.unsupportedMediaType("Content-Encoding '" + encoding + "' is not supported; send the "
          + "CSR without a content coding");
    }
    try {
      return Base64Body.decode(body);
    } catch (IllegalArgumentException e) {
      throw EstException.badRequest(e.getMessage(), e);
    }
  }

  /**
   * RFC 9112 section 6.1: a transfer coding the server does not understand is refused with 501.
   * HTTP takes {@code chunked} off the body; any other (a {@code gzip, chunked} body) would reach
   * the base64 decoder still coded.
   */
  private static void checkTransferCodings(Request request) throws EstException {
    for (String codings : request.getHeaders().getValuesList(HttpHeader.TRANSFER_ENCODING)) {
      for (String coding : codings.split(",")) {
        String name = coding.split(";", 2)[0].trim();
        if (!name.isEmpty() && !name.equalsIgnoreCase("chunked")) {
          throw EstException.notImplemented("Transfer-Encoding '" + name + "' is not supported; send the CSR "
              + "with a Content-Length or chunked only");
        }
      }
    }
  }

  /**
   * The body, refused with 413 if it is over the limit. A body up to {@link #DRAIN_LIMIT} is read
   * to its end (and dropped) before the refusal: closing a connection with unread data resets it,
   * and the client may lose the 413 before reading it. A larger one is not read at all. A body
   * that has not arrived whole within the request timeout (a client trickling it to hold a
   * thread) fails the read and gets 408.
   */
  private byte[] readBody(Request request) throws EstException {
    AtomicBoolean late = new AtomicBoolean();
    Scheduler.Task deadline = request.getComponents().getScheduler().schedule(() -> {
      late.set(true);
      request.fail(new TimeoutException("request body not received within " + requestTimeout));
    }, requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      return readBody(request, late);
    } finally {
      deadline.cancel();
    }
  }

  private byte[] readBody(Request request, AtomicBoolean late) throws EstException {
    long declared = request.getLength();
    byte[] body;
    try (InputStream in = Request.asInputStream(request)) {
      if (declared > maxRequestBytes) {
        if (declared <= DRAIN_LIMIT) {
          drain(in);
        }
        throw tooLarge();
      }
      body = in.readNBytes(maxRequestBytes + 1);
      if (body.length > maxRequestBytes) {
        drain(in);
        throw tooLarge();
      }
    } catch (IOException e) {
      if (late.get()) {
        throw EstException.requestTimeout("the request body did not arrive within " + requestTimeout.toSeconds()
            + "s; send it at once");
      }
      throw EstException.badRequest("the request body ended early: " + e.getMessage(), e);
    }
    return body;
  }

  /** Reads and drops what is left of a body, up to {@link #DRAIN_LIMIT}. */
  private static void drain(InputStream in) throws IOException {
    long left = DRAIN_LIMIT;
    byte[] buffer = new byte[8192];
    int read;
    while (left > 0 && (read = in.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0) {
      left -= read;
    }
  }

  private EstException tooLarge() {
    return EstException.payloadTooLarge(
        "request body is larger than " + maxRequestBytes + " bytes; a CSR is a few hundred");
  }

  private static Credentials credentials(Request request) throws EstException {
    List<X509Certificate> chain = List.of();
    if (request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData ssl) {
      if (ssl.peerCertificates() != null) {
        chain = List.of(ssl.peerCertificates());
      } else if (ssl.sslSession() != null) {
        // None, or one Jetty could not read (PeerChain): which, and why, is asked again.
        try {
          chain = PeerChain.of(ssl.sslSession());
        } catch (IllegalArgumentException unreadable) {
          throw EstException.unauthorized(unreadable.getMessage() + "; present a well-formed certificate, or "
              + "authenticate with a token");
        }
      }
    }
    String authorization = single(request, HttpHeader.AUTHORIZATION);
    BasicCredentials basic = authorization == null ? null : BasicCredentials.parse(authorization);
    return new Credentials(chain, basic, forwarding(request), channelBinding(request));
  }

  /**
   * The value of a header that must come once, or null if absent: two are refused (400), since
   * which one a server, a proxy or an audit line takes could differ.
   */
  private static String single(Request request, HttpHeader header) throws EstException {
    List<String> values = request.getHeaders().getValuesList(header);
    if (values.size() > 1) {
      throw EstException.badRequest("the request has " + values.size() + " " + header.asString()
          + " headers; send one");
    }
    return values.isEmpty() ? null : values.get(0);
  }

  /** The channel binding of the request's TLS connection, or null if its TLS provider exposes none. */
  private static ChannelBinding channelBinding(Request request) {
    EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
    if (endPoint instanceof SslConnection.SslEndPoint ssl) {
      return ChannelBinding.of(ssl.getSslConnection().getSSLEngine()).orElse(null);
    }
    return null;
  }

  /** The headers of a gateway forwarding a device's request (README "Gateway"), or null. */
  private static Forwarding forwarding(Request request) throws EstException {
    String requestId = request.getHeaders().get(Forwarding.REQUEST_ID_HEADER);
    String deviceChain = request.getHeaders().get(Forwarding.DEVICE_CHAIN_HEADER);
    if (requestId == null && deviceChain == null) {
      return null;
    }
    if (requestId == null) {
      throw EstException.badRequest(Forwarding.DEVICE_CHAIN_HEADER + " needs " + Forwarding.REQUEST_ID_HEADER
          + " with it: a gateway names each request it forwards");
    }
    List<X509Certificate> chain = new ArrayList<>();
    if (deviceChain != null) {
      for (String part : deviceChain.split(",")) {
        try {
          chain.add(Certificates.fromDer(Base64.getDecoder().decode(part.trim())));
        } catch (IllegalArgumentException e) {
          throw EstException.badRequest(Forwarding.DEVICE_CHAIN_HEADER + " is not base64 DER certificates "
              + "separated by commas: " + e.getMessage(), e);
        }
      }
    }
    String receivedAt = request.getHeaders().get(Forwarding.RECEIVED_AT_HEADER);
    String popLinked = request.getHeaders().get(Forwarding.POP_LINKED_HEADER);
    if (popLinked != null && !popLinked.equals(Forwarding.POP_LINKED)) {
      throw EstException.badRequest(Forwarding.POP_LINKED_HEADER + " '" + popLinked + "' is not "
          + Forwarding.POP_LINKED);
    }
    try {
      return new Forwarding(requestId, chain, receivedAt == null ? null : Instant.parse(receivedAt), popLinked != null);
    } catch (DateTimeParseException e) {
      throw EstException.badRequest(Forwarding.RECEIVED_AT_HEADER + " '" + receivedAt
          + "' is not an ISO-8601 instant such as 2026-12-01T17:00:00Z", e);
    } catch (IllegalArgumentException e) {
      throw EstException.badRequest(e.getMessage(), e);
    }
  }
}
