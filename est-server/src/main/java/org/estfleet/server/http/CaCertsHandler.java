package org.estfleet.server.http;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.CertsOnly;
import org.estfleet.est.EstMediaType;
import org.estfleet.est.EstOperation;
import org.estfleet.server.enroll.EstService;

/** {@code GET /cacerts} (RFC 7030 section 4.1): the CA certificates, certs-only, base64. */
final class CaCertsHandler extends EstHandler {
  private final EstService service;

  CaCertsHandler(EstService service) {
    super(EstOperation.CACERTS);
    this.service = service;
  }

  @Override
  void serve(String label, Request request, Response response, Callback callback) throws Exception {
    byte[] der = CertsOnly.encode(service.caCertificates(label));
    Responses.base64(response, callback, 200, EstMediaType.PKCS7_MIME, der);
  }
}
