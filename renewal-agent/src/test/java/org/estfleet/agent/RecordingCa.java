package org.estfleet.agent;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.estfleet.est.EstException;
import org.estfleet.server.ForwardingCa;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;

/** The real CA, remembering every CSR it was asked to sign. */
final class RecordingCa extends ForwardingCa {
  final List<byte[]> csrs = new CopyOnWriteArrayList<>();

  RecordingCa(CertificateAuthority delegate) {
    super(delegate);
  }

  @Override
  public IssueResult issue(IssueRequest request) throws EstException {
    csrs.add(request.csr().der());
    return super.issue(request);
  }
}
