package org.estfleet.server.http;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstException;
import org.estfleet.est.EstOperation;
import org.estfleet.est.EstPath;

/**
 * The part every EST operation's handler shares: parse the path (for the label), check the
 * method. Handlers block (the CA and the store may), own every exchange routed to them, and
 * either complete the callback once or throw to {@link EstErrorHandler}.
 */
abstract class EstHandler extends Handler.Abstract {
  private final EstOperation operation;

  EstHandler(EstOperation operation) {
    super(InvocationType.BLOCKING);
    this.operation = operation;
  }

  @Override
  public final boolean handle(Request request, Response response, Callback callback) throws Exception {
    // The normalized path, the one the router matched: a percent-encoded unreserved character is
    // the character itself (RFC 3986 section 6.2.2.2), so /fact%6Fry/ is the label factory; any
    // other encoded character stays encoded, and the label is refused as sent.
    EstPath path;
    try {
      path = EstPath.parse(request.getHttpURI().getCanonicalPath());
    } catch (IllegalArgumentException e) {
      throw EstException.notFound(e.getMessage());
    }
    if (!allows(operation.method(), request.getMethod())) {
      throw EstException.methodNotAllowed(
          path.operation().segment() + " takes " + operation.method() + ", not " + request.getMethod(),
          allowHeader(operation.method()));
    }
    serve(path.label(), request, response, callback);
    return true;
  }

  /**
   * Whether a resource that takes {@code method} serves {@code requested}: HEAD wherever GET
   * (RFC 9110 section 9.1); Jetty sends a HEAD answer's headers without its body.
   */
  static boolean allows(String method, String requested) {
    return requested.equals(method) || (method.equals("GET") && requested.equals("HEAD"));
  }

  /** The {@code Allow} header of a resource that takes {@code method}. */
  static String allowHeader(String method) {
    return method.equals("GET") ? "GET, HEAD" : method;
  }

  /** Serves one request for {@code label} ({@code ""} for the default). */
  abstract void serve(String label, Request request, Response response, Callback callback) throws Exception;
}
