package org.estfleet.server.enroll;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.GeneralName;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.server.auth.AuthenticatedClient;
import org.estfleet.server.auth.Authenticator;
import org.estfleet.server.auth.Credentials;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.server.ca.Requester;
import org.estfleet.server.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The EST operations as plain Java (RFC 7030 section 4): label lookup, authentication, CSR
 * checks, the identity rule, then the CA. The HTTP layer only decodes and encodes.
 */
public final class EstService {
  private static final Logger LOG = LoggerFactory.getLogger(EstService.class);

  /** RFC 6402 ChangeSubjectName; this server never changes a subject on re-enrollment. */
  private static final ASN1ObjectIdentifier CHANGE_SUBJECT_NAME = new ASN1ObjectIdentifier("1.3.6.1.5.5.7.7.36");
  private static final Duration STORE_RETRY_AFTER = Duration.ofSeconds(30);

  private final CertificateAuthority ca;
  private final Authenticator authenticator;
  private final Map<String, LabelPolicy> labels;

  /**
   * @param labels the policy of each label, {@code ""} for requests without one
   */
  public EstService(CertificateAuthority ca, Authenticator authenticator, Map<String, LabelPolicy> labels) {
    this.ca = ca;
    this.authenticator = authenticator;
    this.labels = Map.copyOf(labels);
  }

  /** {@code /cacerts} (RFC 7030 section 4.1): no authentication needed. */
  public List<X509Certificate> caCertificates(String label) throws EstException {
    policy(label);
    return ca.caCertificates(label);
  }

  /** {@code /csrattrs} (RFC 7030 section 4.5): empty means "answer 204". */
  public Optional<CsrAttributes> csrAttributes(String label) throws EstException {
    CsrAttributes attributes = policy(label).csrAttributes();
    return attributes.isEmpty() ? Optional.empty() : Optional.of(attributes);
  }

  /**
   * {@code /simpleenroll} (RFC 7030 section 4.2.1): the CSR's CN must be the authenticated
   * identity.
   */
  public IssueResult enroll(String label, Credentials credentials, byte[] csrDer) throws EstException {
    LabelPolicy policy = policy(label);
    try {
      AuthenticatedClient client = authenticator.forEnroll(credentials);
      Csr csr = parse(csrDer);
      policy.csrPolicy().check(csr);
      checkIdentity(client, csr);
      return ca.issue(new IssueRequest(label, csr, requester(client), false));
    } catch (StoreException e) {
      throw storeUnavailable(e);
    }
  }

  /**
   * {@code /simplereenroll} (RFC 7030 section 4.2.2): authenticated by the certificate being
   * renewed, whose subject and subjectAltName the CSR must repeat exactly; the key may change.
   */
  public IssueResult reenroll(String label, Credentials credentials, byte[] csrDer) throws EstException {
    LabelPolicy policy = policy(label);
    try {
      AuthenticatedClient client = authenticator.forReenroll(credentials);
      Csr csr = parse(csrDer);
      policy.csrPolicy().check(csr);
      checkIdentity(client, csr);
      checkSameNames(client.clientCertificate().orElseThrow(), csr);
      return ca.issue(new IssueRequest(label, csr, requester(client), true));
    } catch (StoreException e) {
      throw storeUnavailable(e);
    }
  }

  private LabelPolicy policy(String label) throws EstException {
    LabelPolicy policy = labels.get(label);
    if (policy == null) {
      throw EstException.notFound("no EST label '" + label + "' on this server");
    }
    return policy;
  }

  private static Csr parse(byte[] der) throws EstException {
    try {
      return Csr.fromDer(der);
    } catch (IllegalArgumentException e) {
      throw EstException.badRequest(e.getMessage(), e);
    }
  }

  /** A device may never obtain a certificate for another identity (DESIGN.md section 4). */
  private static void checkIdentity(AuthenticatedClient client, Csr csr) throws EstException {
    String requested = csr.commonName().orElseThrow();
    if (!requested.equals(client.deviceId())) {
      throw EstException.forbidden("CSR subject CN '" + requested + "' differs from the authenticated identity '"
          + client.deviceId() + "'; request a certificate for your own identity");
    }
  }

  /**
   * RFC 7030 section 4.2.2: "the Subject field and SubjectAltName extension MUST be identical
   * to the corresponding fields in the certificate being renewed or rekeyed". Renewal cannot be
   * used to change a name.
   */
  private static void checkSameNames(X509Certificate current, Csr csr) throws EstException {
    if (csr.attributeTypes().contains(CHANGE_SUBJECT_NAME)) {
      throw EstException.forbidden("ChangeSubjectName is not supported; re-enroll with the current subject");
    }
    X500Principal requested;
    try {
      requested = new X500Principal(csr.subject().getEncoded());
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw EstException.badRequest("CSR subject cannot be encoded", e);
    }
    if (!requested.equals(current.getSubjectX500Principal())) {
      throw EstException.forbidden("CSR subject '" + requested.getName() + "' differs from the certificate being renewed ('"
          + current.getSubjectX500Principal().getName() + "'); keep the subject");
    }
    if (!new HashSet<GeneralName>(csr.subjectAltNames()).equals(new HashSet<>(Certificates.subjectAltNames(current)))) {
      throw EstException.forbidden("CSR subjectAltName " + csr.subjectAltNames()
          + " differs from the certificate being renewed " + Certificates.subjectAltNames(current)
          + "; keep the subjectAltName");
    }
  }

  private static Requester requester(AuthenticatedClient client) {
    return new Requester(client.deviceId(), client.method().recordedName(), client.detail(), client.tokenId(), null);
  }

  private static EstException storeUnavailable(StoreException e) {
    LOG.error("certificate store failed; answering 503", e);
    return EstException.serviceUnavailable("the certificate store is busy or unavailable; retry later", STORE_RETRY_AFTER);
  }
}
