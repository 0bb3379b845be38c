package org.estfleet.server.http;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstOperation;
import org.estfleet.server.enroll.EstService;

/**
 * {@code POST /serverkeygen} (RFC 7030 section 4.4) is part of EST but not offered by this
 * server yet: devices generate their own keys. Answered 501 so clients can tell it from an
 * unknown path; on a label the server does not have, 404 as for every operation.
 */
final class ServerKeygenHandler extends EstHandler {
  private final EstService service;

  ServerKeygenHandler(EstService service) {
    super(EstOperation.SERVER_KEYGEN);
    this.service = service;
  }

  @Override
  void serve(String label, Request request, Response response, Callback callback) throws Exception {
    service.serverKeygen(label);
  }
}
