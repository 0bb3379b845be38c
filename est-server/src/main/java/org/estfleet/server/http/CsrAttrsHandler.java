package org.estfleet.server.http;

import java.util.Optional;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstMediaType;
import org.estfleet.est.EstOperation;
import org.estfleet.server.enroll.EstService;

/** {@code GET /csrattrs} (RFC 7030 section 4.5): 200 with the attributes, or 204 when there are none. */
final class CsrAttrsHandler extends EstHandler {
  private final EstService service;

  CsrAttrsHandler(EstService service) {
    super(EstOperation.CSR_ATTRS);
    this.service = service;
  }

  @Override
  void serve(String label, Request request, Response response, Callback callback) throws Exception {
    Optional<CsrAttributes> attributes = service.csrAttributes(label);
    if (attributes.isEmpty()) {
      Responses.empty(response, callback, 204);
    } else {
      Responses.base64(response, callback, 200, EstMediaType.CSR_ATTRS, attributes.get().encode());
    }
  }
}
