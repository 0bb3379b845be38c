package org.estfleet.server.http;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.estfleet.est.EstException;
import org.estfleet.est.EstOperation;

/**
 * {@code POST /serverkeygen} (RFC 7030 section 4.4) is part of EST but not offered by this
 * server yet: devices generate their own keys. Answered 501 so clients can tell it from an
 * unknown path.
 */
final class ServerKeygenHandler extends EstHandler {
  ServerKeygenHandler() {
    super(EstOperation.SERVER_KEYGEN);
  }

  @Override
  void serve(String label, Request request, Response response, Callback callback) throws Exception {
    throw EstException.notImplemented("serverkeygen is not offered by this server; generate the key on the device");
  }
}
