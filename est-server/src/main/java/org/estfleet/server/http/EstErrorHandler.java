package org.estfleet.server.http;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The root handler: turns what the EST handlers throw into responses. An {@link EstException}
 * becomes its status with its one-line message as {@code text/plain} (plus
 * {@code WWW-Authenticate}, {@code Allow} or {@code Retry-After} where the status calls for
 * it; a 401 challenge to a request that sent no credentials has an empty body); anything else
 * is a bug, logged with its stack trace and answered with a generic 500.
 * Unmatched paths are 404. Every refusal is logged with its reason.
 */
final class EstErrorHandler extends Handler.Wrapper {
  private static final Logger LOG = LoggerFactory.getLogger(EstErrorHandler.class);
  private static final int MAX_PATH_IN_MESSAGE = 120;

  private final String realm;

  EstErrorHandler(Handler handler, String realm) {
    super(handler);
    this.realm = realm;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    try {
      if (super.handle(request, response, callback)) {
        return true;
      }
      throw EstException.notFound("no EST resource at " + shortPath(request)
          + "; EST paths are /.well-known/est/[label/]operation");
    } catch (Throwable thrown) {
      Throwable failure = unwrap(thrown);
      if (failure instanceof Error error && !(error instanceof StackOverflowError)) {
        throw error;
      }
      if (response.isCommitted()) {
        LOG.warn("{} {} failed after the response was committed", request.getMethod(), shortPath(request), failure);
        callback.failed(failure);
        return true;
      }
      response.reset();
      if (failure instanceof EstException refusal) {
        refuse(request, response, callback, refusal);
      } else {
        LOG.error("internal error on {} {} from {}", request.getMethod(), shortPath(request),
            Request.getRemoteAddr(request), failure);
        Responses.text(response, callback, 500, "internal server error; the server log has the details");
      }
      return true;
    }
  }

  private void refuse(Request request, Response response, Callback callback, EstException refusal) {
    boolean sentCredentials = request.getHeaders().contains(HttpHeader.AUTHORIZATION) || hasClientCertificate(request);
    // One line each: a client can send bad requests as fast as it likes, and a stack trace per
    // refusal would fill the log (the parse failure behind a 400 is at DEBUG). A 401 to a request
    // without credentials is a client asking to be challenged (libest), not a warning.
    if ((refusal.status() == 401 && sentCredentials) || refusal.status() == 403) {
      LOG.warn("refused {} {} from {}: {} {}", request.getMethod(), shortPath(request),
          Request.getRemoteAddr(request), refusal.status(), refusal.getMessage());
    } else {
      LOG.info("refused {} {} from {}: {} {}", request.getMethod(), shortPath(request),
          Request.getRemoteAddr(request), refusal.status(), refusal.getMessage());
    }
    if (refusal.getCause() != null && LOG.isDebugEnabled()) {
      LOG.debug("cause of the {} refusal", refusal.status(), refusal.getCause());
    }
    if (refusal.status() == 401) {
      // libest's client sends credentials only after a challenge (RFC 7030 3.2.3, RFC 7617).
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Basic realm=\"" + realm + "\"");
    }
    if (refusal.status() == 413 || refusal.status() == 408) {
      // The rest of the body was never read: the connection cannot carry another request.
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
    }
    refusal.allow().ifPresent(allow -> response.getHeaders().put(HttpHeader.ALLOW, allow));
    refusal.retryAfter().ifPresent(after ->
        response.getHeaders().put(HttpHeader.RETRY_AFTER, Responses.retryAfterSeconds(after)));
    if (refusal.status() == 401 && !sentCredentials) {
      // A challenge to a request that sent no credentials at all has no body: the Bouncy
      // Castle EST client closes such a response unread, and fails if it had one. The reason is
      // in the log; a client that did send credentials gets it in the body.
      Responses.empty(response, callback, 401);
      return;
    }
    Responses.text(response, callback, refusal.status(), refusal.getMessage());
  }

  /** Whether the client presented a certificate, one Jetty could not read included ({@link PeerChain}). */
  private static boolean hasClientCertificate(Request request) {
    if (!(request.getAttribute(EndPoint.SslSessionData.ATTRIBUTE) instanceof EndPoint.SslSessionData ssl)) {
      return false;
    }
    if (ssl.peerCertificates() != null && ssl.peerCertificates().length > 0) {
      return true;
    }
    try {
      return ssl.sslSession() != null && ssl.sslSession().getPeerCertificates().length > 0;
    } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
      return false;
    }
  }

  private static Throwable unwrap(Throwable thrown) {
    Throwable failure = thrown;
    while ((failure instanceof ExecutionException || failure instanceof CompletionException)
        && failure.getCause() != null) {
      failure = failure.getCause();
    }
    return failure;
  }

  private static String shortPath(Request request) {
    String path = request.getHttpURI().getPath();
    return path.length() <= MAX_PATH_IN_MESSAGE ? path : path.substring(0, MAX_PATH_IN_MESSAGE) + "...";
  }
}
