package org.estfleet.server;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;

/** A CA that passes everything to another; tests override what they change. */
public class ForwardingCa implements CertificateAuthority {
  private final CertificateAuthority delegate;

  public ForwardingCa(CertificateAuthority delegate) {
    this.delegate = delegate;
  }

  @Override
  public List<X509Certificate> caCertificates(String label) throws EstException {
    return delegate.caCertificates(label);
  }

  @Override
  public Optional<CsrAttributes> csrAttributes(String label) throws EstException {
    return delegate.csrAttributes(label);
  }

  @Override
  public IssueResult issue(IssueRequest request) throws EstException {
    return delegate.issue(request);
  }

  @Override
  public Optional<IssueResult> resend(IssueRequest request) throws EstException {
    return delegate.resend(request);
  }
}
