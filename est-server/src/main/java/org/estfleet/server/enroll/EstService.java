package org.estfleet.server.enroll;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;
import org.estfleet.est.ServerGeneratedKey;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.DeviceIdentity;
import org.estfleet.pki.Csr;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.server.audit.AuditLog;
import org.estfleet.server.auth.AuthMethod;
import org.estfleet.server.auth.AuthThrottle;
import org.estfleet.server.auth.AuthenticatedClient;
import org.estfleet.server.auth.Authenticator;
import org.estfleet.server.auth.BasicCredentials;
import org.estfleet.server.auth.Credentials;
import org.estfleet.server.auth.EnrollmentThrottle;
import org.estfleet.server.auth.Forwarding;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;
import org.estfleet.server.ca.Requester;
import org.estfleet.server.ca.StoredAnswers;
import org.estfleet.server.metrics.ServerMetrics;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.StoreException;
import org.estfleet.tls.ChannelBinding;
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
  private static final Duration KEYGEN_RETRY_AFTER = Duration.ofSeconds(2);

  /**
   * RFC 7030 sections 4.4.1.1 and 4.4.1.2: the attributes with which a client asks for its key
   * encrypted under a symmetric or asymmetric key of its own (id-aa-decryptKeyID,
   * id-aa-asymmDecryptKeyID). Not offered: such a request fails rather than get the key in clear.
   */
  private static final Map<ASN1ObjectIdentifier, String> KEY_ENCRYPTION_ATTRIBUTES = Map.of(
      new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.2.37"), "DecryptKeyIdentifier",
      new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.2.54"), "AsymmetricDecryptKeyIdentifier");

  private final CertificateAuthority ca;
  private final Authenticator authenticator;
  private final Map<String, LabelPolicy> labels;
  private final LabelPolicy gatewayPolicy;
  private final ForwardedRequests forwarded;
  private final TokenRetries tokenRetries;
  private final StoredAnswers stored;
  private final AuthThrottle throttle;
  private final EnrollmentThrottle enrollments;
  private final AuditLog audit;
  private final ServerMetrics metrics;
  private final boolean tlsExposesBindings;
  private final SecureRandom random;
  /** Keys being generated for {@code /serverkeygen}: at most one per core. */
  private final Semaphore keygens = new Semaphore(Runtime.getRuntime().availableProcessors());

  /** The rate limits around enrollment: failed authentications, and enrollments themselves. */
  public record Throttles(AuthThrottle failedAuthentications, EnrollmentThrottle enrollments) {}

  /**
   * @param labels the policy of each label, {@code ""} for requests without one
   * @param gatewayPolicy the policy of gateways' own certificates; null where gateways cannot enroll
   * @param forwarded the requests gateways forwarded before, for their retries
   * @param tokenRetries the certificates issued with used tokens, for devices' retries
   * @param stored the answers a gateway keeps for devices' retries
   * @param throttles what slows credential guessing and enrollment floods
   * @param audit where every enrollment answer is recorded
   * @param metrics where every enrollment answer is counted, by operation and result
   * @param tlsExposesBindings whether the TLS provider lets PoP linking be checked (BCJSSE)
   * @param random what {@code /serverkeygen} generates keys with
   */
  public EstService(CertificateAuthority ca, Authenticator authenticator, Map<String, LabelPolicy> labels,
      LabelPolicy gatewayPolicy, ForwardedRequests forwarded, TokenRetries tokenRetries, StoredAnswers stored,
      Throttles throttles, AuditLog audit, ServerMetrics metrics, boolean tlsExposesBindings, SecureRandom random) {
    this.metrics = metrics;
    this.tlsExposesBindings = tlsExposesBindings;
    this.random = random;
    this.ca = ca;
    this.authenticator = authenticator;
    this.labels = Map.copyOf(labels);
    this.gatewayPolicy = gatewayPolicy;
    this.forwarded = forwarded;
    this.tokenRetries = tokenRetries;
    this.stored = stored;
    this.throttle = throttles.failedAuthentications();
    this.enrollments = throttles.enrollments();
    this.audit = audit;
  }

  /** The certificates issued for gateways' requests, found by gateway and request id. */
  @FunctionalInterface
  public interface ForwardedRequests {
    /** What was issued for {@code requestId} of gateway {@code gatewayId}, if anything. */
    Optional<X509Certificate> find(String gatewayId, String requestId);

    /** Whether gateways' forwards are taken here: by a CA, not by a gateway. */
    default boolean accepted() {
      return true;
    }

    /** For a server that accepts no forwarded requests (a gateway: see {@link EstService#decide}). */
    static ForwardedRequests none() {
      return new ForwardedRequests() {
        @Override
        public Optional<X509Certificate> find(String gatewayId, String requestId) {
          return Optional.empty();
        }

        @Override
        public boolean accepted() {
          return false;
        }
      };
    }
  }

  /**
   * A certificate issued with a one-time token, found for a retry of the request that used it.
   *
   * @param label the token's label (null: a token made before tokens had labels)
   */
  public record TokenRetry(long tokenId, Role role, String label, X509Certificate certificate) {}

  /** The certificates issued with tokens, for the retries of first enrollments whose answer was lost. */
  @FunctionalInterface
  public interface TokenRetries {
    /**
     * What device {@code deviceId}'s used token {@code secret} was used for: the certificate for
     * the key with SHA-256 {@code publicKeySha256} under {@code label}, while it is valid.
     */
    Optional<TokenRetry> find(String deviceId, String secret, String publicKeySha256, String label);

    /** For a server that checks no tokens (a gateway: its upstream checks them). */
    static TokenRetries none() {
      return (deviceId, secret, publicKeySha256, label) -> Optional.empty();
    }
  }

  /** {@code /cacerts} (RFC 7030 section 4.1): no authentication needed. */
  public List<X509Certificate> caCertificates(String label) throws EstException {
    policy(label);
    return ca.caCertificates(label);
  }

  /**
   * {@code /serverkeygen} (RFC 7030 section 4.4): authenticated and judged as {@link #enroll}
   * (by a token, an IDevID, or a certificate of this CA for the same names), for a key the server
   * generates, of the type of the CSR's own key, whose key and signature are otherwise ignored
   * (section 4.4.1). The key is generated only once the request passed every check that does
   * not need it and took its place in the identity's hourly limit, and at most one per core at a
   * time (503 beyond). It is not kept: an answer lost on its way cannot be sent again (the token it
   * used is spent), and the device enrolls again. 501 where the profile turns it off, on a
   * gateway, and for a key to be returned encrypted (section 4.4.1.1-2).
   */
  public ServerGeneratedKey serverKeygen(String label, Credentials credentials, byte[] csrDer, String source)
      throws EstException {
    GeneratedKey generated = new GeneratedKey();
    IssueResult result = issue(label, credentials, csrDer, false, source, generated);
    if (!(result instanceof IssueResult.Issued issued) || generated.keys == null || !Arrays.equals(
        issued.certificate().getPublicKey().getEncoded(), generated.keys.getPublic().getEncoded())) {
      // Never a certificate for another key beside the generated one (a stored or earlier answer).
      throw new IllegalStateException("serverkeygen got " + result + " for another key than the one generated");
    }
    return ServerGeneratedKey.of(generated.keys.getPrivate(), issued.certificate());
  }

  /** The key {@link #serverKeygen} generated, once its request is authenticated and checked. */
  private static final class GeneratedKey {
    KeyPair keys;
  }

  /** {@code /csrattrs} (RFC 7030 section 4.5): empty means "answer 204". */
  public Optional<CsrAttributes> csrAttributes(String label) throws EstException {
    policy(label);
    return ca.csrAttributes(label).filter(attributes -> !attributes.isEmpty());
  }

  /**
   * {@code /simpleenroll} (RFC 7030 section 4.2.1): the CSR's CN must be the authenticated
   * identity.
   */
  public IssueResult enroll(String label, Credentials credentials, byte[] csrDer, String source) throws EstException {
    return issue(label, credentials, csrDer, false, source, null);
  }

  /**
   * {@code /simplereenroll} (RFC 7030 section 4.2.2): authenticated by the certificate being
   * renewed, whose subject and subjectAltName the CSR must repeat exactly; the key may change.
   */
  public IssueResult reenroll(String label, Credentials credentials, byte[] csrDer, String source) throws EstException {
    return issue(label, credentials, csrDer, true, source, null);
  }

  /**
   * Refuses a gateway's forward sent here if this server takes none: a gateway, whose
   * {@code gateway.upstream} should have named the CA. Gateways do not chain. Checked before
   * anything about the request is judged (its label, the sender's limits), whose answer (a 404, a
   * 429) the sending gateway would take for the CA's: 421 is not a verdict on the device's request,
   * nor on the sending gateway's certificate, and the sender keeps the request.
   *
   * @param forwarded whether the request carries a gateway's forwarding headers
   * @param sender the client certificate it came with, or null
   */
  public void checkForwardTaken(boolean forwarded, X509Certificate sender) throws EstException {
    if (forwarded && !this.forwarded.accepted()) {
      throw EstException.misdirected("this server is a gateway, not a CA: it takes no requests forwarded by a "
          + "gateway (this one from " + (sender == null ? "a client without a certificate" : Certificates.describe(sender))
          + "); the sending gateway's gateway.upstream must name the CA");
    }
  }

  /**
   * The identity a client certificate claims before it is judged (the CN of one of this CA's, an
   * IDevID's identity by {@code bootstrap.idevidIdentity}), null if none: what failed attempts
   * count against and the audit log names.
   */
  public String claimedIdentity(X509Certificate certificate) {
    return authenticator.claimedIdentity(certificate);
  }

  /**
   * Throttles failed authentication and enrollment, and writes the audit line, around {@link #decide}.
   *
   * @param source the client's address
   * @param generated where a {@code /serverkeygen} request's generated key goes; null for the others
   */
  private IssueResult issue(String label, Credentials credentials, byte[] csrDer, boolean reenroll, String source,
      GeneratedKey generated) throws EstException {
    Optional<Forwarding> forwarding = credentials.forwarded();
    Credentials presented = forwarding.isPresent()
        ? new Credentials(forwarding.get().deviceChain(), credentials.basic())
        : credentials;
    String claimed = presented.basicCredentials().map(BasicCredentials::userId)
        .or(() -> presented.clientCertificate().map(this::claimedIdentity))
        .orElse(null);
    // A gateway's address speaks for many devices: its forwarded requests count per identity only.
    String from = forwarding.isPresent() ? null : source;
    Map<String, Object> audited = audited(operation(reenroll, generated != null), label, source, claimed,
        forwarding.isPresent()
        ? credentials.clientCertificate().flatMap(c -> Certificates.commonName(c.getSubjectX500Principal())).orElse(null)
        : null);
    try {
      throttle.check(from, claimed);
      enrollments.admit(from);
      IssueResult result = decide(label, credentials, csrDer, reenroll, audited, generated);
      if (result instanceof IssueResult.Issued issued) {
        // The identity authenticated (the certificate's CN is checked to be it), not one a header claimed.
        Certificates.commonName(issued.certificate().getSubjectX500Principal())
            .ifPresent(identity -> audited.put("identity", identity));
        audited.put("result", issued.earlier() ? "resent" : "issued");
        audited.put("serial", Certificates.serialHex(issued.certificate()));
        audited.put("notAfter", issued.certificate().getNotAfter().toInstant());
      } else {
        audited.put("result", "pending");
      }
      answered(audited);
      return result;
    } catch (EstException e) {
      boolean sentCredentials = presented.basic() != null || !presented.clientChain().isEmpty();
      if (e.status() == 401 && sentCredentials) {
        throttle.failed(from, claimed);
      }
      audited.put("result", refusal(e));
      audited.put("status", e.status());
      audited.put("reason", e.getMessage());
      answered(audited);
      throw e;
    } catch (RuntimeException e) {
      // A bug or a broken CA (answered 500, logged with its stack trace): audited too.
      audited.put("result", "error");
      audited.put("status", 500);
      audited.put("reason", "internal error: " + e.getClass().getSimpleName());
      answered(audited);
      throw e;
    }
  }

  /**
   * Audits an enrollment request refused before it reached {@link #enroll} or {@link #reenroll}:
   * its media type, content coding or body could not be read.
   *
   * @param claimed the identity the request's credentials name, if they could be read
   * @param gateway the gateway that forwarded the request, or null
   */
  public void refusedUnread(String operation, String label, String source, String claimed, String gateway,
      EstException refusal) {
    Map<String, Object> audited = audited(operation, label, source, claimed, gateway);
    audited.put("result", refusal(refusal));
    audited.put("status", refusal.status());
    audited.put("reason", refusal.getMessage());
    answered(audited);
  }

  /**
   * How the audit log and the metrics name a request answered with an error: {@code rate-limited}
   * (429), {@code misdirected} (421, a gateway's request sent to a gateway: its sender's
   * configuration, not the device's request, is wrong) or {@code refused}.
   */
  private static String refusal(EstException e) {
    return switch (e.status()) {
      case 429 -> "rate-limited";
      case 421 -> "misdirected";
      default -> "refused";
    };
  }

  private static String operation(boolean reenroll, boolean serverKeygen) {
    return serverKeygen ? "serverkeygen" : reenroll ? "simplereenroll" : "simpleenroll";
  }

  /** Records an enrollment answer: a line in the audit log, a count in the metrics. */
  private void answered(Map<String, Object> audited) {
    audit.record("enroll", audited);
    metrics.enrollment(String.valueOf(audited.get("operation")), String.valueOf(audited.get("result")));
  }

  private static Map<String, Object> audited(String operation, String label, String source, String identity,
      String gateway) {
    Map<String, Object> audited = new LinkedHashMap<>();
    audited.put("operation", operation);
    audited.put("label", label.isEmpty() ? null : label);
    audited.put("source", source);
    audited.put("identity", identity);
    audited.put("gateway", gateway);
    return audited;
  }

  private IssueResult decide(String label, Credentials credentials, byte[] csrDer, boolean reenroll,
      Map<String, Object> audited, GeneratedKey generated) throws EstException {
    LabelPolicy policy = policy(label);
    try {
      Optional<Forwarding> forwarding = credentials.forwarded();
      if (generated != null && policy.serverKeygenRefusal() != null) {
        throw EstException.notImplemented(policy.serverKeygenRefusal());
      }
      if (generated != null && forwarding.isPresent()) {
        throw EstException.notImplemented("serverkeygen is not taken from gateways: a gateway would hold the key "
            + "this CA generates; devices send it to the CA");
      }
      Credentials device = credentials;
      AuthenticatedClient gateway = null;
      if (forwarding.isPresent()) {
        // RFC 7030 section 3.7: the RA authenticated the device; this CA trusts the RA to have
        // done so, and judges the device by the credentials the RA passes on.
        gateway = authenticator.registrationAuthority(credentials.clientChain());
        device = new Credentials(forwarding.get().deviceChain(), credentials.basic());
      }
      Csr csr = parse(csrDer);
      if (gateway == null && generated == null) {
        Optional<IssueResult> answer = stored.answer(label, csr, credentials.clientCertificate());
        if (answer.isPresent()) {
          // Told before authentication, to the very same CSR: the audit must not read as if the
          // client had authenticated as the identity it names.
          audited.put("authenticated", false);
          if (answer.get() instanceof IssueResult.Issued issued && !issued.earlier()) {
            // A gateway's first delivery of what its upstream issued: counted, whatever the limit.
            Certificates.commonName(issued.certificate().getSubjectX500Principal()).ifPresent(enrollments::issued);
          }
          return answer.get();
        }
      }
      if (gateway != null) {
        Optional<X509Certificate> earlier = forwarded.find(gateway.deviceId(), forwarding.get().requestId());
        if (earlier.isPresent()) {
          return replay(gateway, forwarding.get(), csr, earlier.get());
        }
      }
      Instant at = gateway == null ? null : authenticator.judgedAt(forwarding.get());
      AuthenticatedClient client;
      TokenRetry retried = null;
      try {
        client = at == null
            ? (reenroll ? authenticator.forReenroll(device) : authenticator.forEnroll(device))
            : (reenroll ? authenticator.forReenroll(device, at) : authenticator.forEnroll(device, at));
      } catch (EstException e) {
        // A gateway sends a forward again when its connection broke before the answer; the first
        // one, issued meanwhile, has used the device's token. Its certificate is the answer.
        if (gateway != null) {
          Optional<X509Certificate> issued = forwarded.find(gateway.deviceId(), forwarding.get().requestId());
          if (issued.isPresent()) {
            return replay(gateway, forwarding.get(), csr, issued.get());
          }
        }
        // A device whose first enrollment's answer was lost sends the same request again, with
        // the token that request used: the certificate issued then for this key, once the CSR's
        // checks below (its signature proving the key, its name the token's device) pass. Any other
        // use of a used token stays refused (401), and nothing is signed for a retry.
        Optional<BasicCredentials> basic = device.basicCredentials();
        // Not for serverkeygen: no key is kept to be sent again with the certificate.
        retried = reenroll || generated != null || basic.isEmpty() ? null
            : tokenRetries.find(basic.get().userId(), basic.get().password(),
                Certificates.publicKeyFingerprint(csr.publicKey()), label).orElse(null);
        if (retried == null) {
          throw e;
        }
        client = new AuthenticatedClient(basic.get().userId(), AuthMethod.TOKEN,
            Authenticator.tokenDetail(retried.tokenId()), retried.tokenId(), null, retried.role(),
            AuthenticatedClient.only(retried.label()));
      }
      if (client.role() == Role.GATEWAY) {
        if (gateway != null) {
          throw EstException.forbidden("a gateway's own credentials cannot be forwarded by another gateway");
        }
        if (gatewayPolicy == null) {
          throw EstException.forbidden("this server does not enroll gateways");
        }
        if (!label.isEmpty()) {
          throw EstException.notFound("gateways enroll without a label, not with '" + label + "'");
        }
        policy = gatewayPolicy;
      }
      // A token is for the label it was made for, a certificate for the one it was issued under:
      // a device does not choose a more permissive profile than the one it was given.
      client.checkLabel(label);
      KeyAlgorithm keyType = null;
      if (generated != null) {
        if (policy.serverKeygenRefusal() != null) { // a gateway's own certificate: the gateway profile's say
          throw EstException.notImplemented(policy.serverKeygenRefusal());
        }
        for (ASN1ObjectIdentifier type : csr.attributeTypes()) {
          if (KEY_ENCRYPTION_ATTRIBUTES.containsKey(type)) {
            throw EstException.notImplemented("the CSR asks for the key encrypted ("
                + KEY_ENCRYPTION_ATTRIBUTES.get(type) + ", RFC 7030 4.4.1), which this server does not offer: the "
                + "key comes as PKCS#8 protected by TLS; send the CSR without that attribute");
          }
        }
        keyType = keyTypeOf(csr);
        // What does not depend on the key, judged on the CSR as sent (its names and attributes
        // are the request's); the key's own checks once it exists.
        policy.csrPolicy().checkContent(csr);
      } else {
        policy.csrPolicy().check(csr);
      }
      boolean linked = client.role() != Role.GATEWAY
          && checkLinking(label, csr, credentials, forwarding.orElse(null), gateway == null ? null : gateway.deviceId());
      checkIdentity(client, csr);
      if (reenroll || client.method() == AuthMethod.CERTIFICATE) {
        // A certificate of this CA vouches for its own names only: a certificate requested with
        // it repeats them on /simpleenroll too, or a device could rename itself there.
        checkSameNames(client.clientCertificate().orElseThrow(), csr);
      } else {
        policy.csrPolicy().checkNewNames(csr);
      }
      if (retried != null) {
        LOG.info("{} sent the request that used {} again; returning serial {} issued for it", client.deviceId(),
            client.detail(), Certificates.serialHex(retried.certificate()));
        return IssueResult.Issued.earlier(retried.certificate());
      }
      Requester requester = new Requester(client.deviceId(), client.method().recordedName(), client.detail(),
          client.tokenId(), gateway == null ? null : gateway.deviceId(),
          forwarding.map(Forwarding::requestId).orElse(null), client.role(), revocable(client));
      // The authenticated identity's hourly limit (not the one a header claims): at it, only what
      // was issued before for this very request (its answer lost) is sent again. Below it, one of
      // the hour's certificates is taken for this request, and kept only if it is issued one.
      Optional<EstException> limited = enrollments.reserve(client.deviceId());
      if (limited.isPresent()) {
        if (generated != null) {
          throw limited.get(); // nothing kept to send again
        }
        return ca.resend(new IssueRequest(label, csr, requester, reenroll, device, linked)).orElseThrow(limited::get);
      }
      boolean used = false;
      try {
        if (generated != null) {
          csr = generateKey(csr, keyType, policy, generated);
        }
        IssueRequest request = new IssueRequest(label, csr, requester, reenroll, device, linked);
        IssueResult result = ca.issue(request);
        used = result instanceof IssueResult.Issued issued && !issued.earlier();
        return result;
      } finally {
        if (!used) {
          enrollments.release(client.deviceId());
        }
      }
    } catch (StoreException e) {
      throw storeUnavailable(e);
    }
  }

  /**
   * RFC 7030 section 3.5: where the label's {@code /csrattrs} asks for challengePassword, the CSR
   * must carry the channel binding ({@code tls-unique}) of the TLS connection it arrived on,
   * proving that whoever authenticated on this connection also made the CSR. A gateway checks
   * this on its own connections, and says so when it forwards ({@link Forwarding#popLinked()});
   * the CA, which cannot see the device's connection, accepts a forwarded request for such a
   * label only with that word.
   *
   * @param forwarding the gateway's forwarding of the request, or null for a direct request
   * @return whether the CSR was checked to be linked to its connection (also where not required:
   *     a gateway that does not know yet whether the label requires it vouches for what it saw)
   */
  private boolean checkLinking(String label, Csr csr, Credentials credentials, Forwarding forwarding,
      String gatewayId) throws EstException {
    boolean required;
    try {
      required = ca.csrAttributes(label).map(CsrAttributes::requestsLinking).orElse(false);
    } catch (EstException unknown) {
      // A gateway that has not reached its upstream yet does not know the label's /csrattrs. It
      // still stores requests (its purpose); the CA refuses those it needed linked and unchecked.
      required = false;
    }
    if (forwarding != null) {
      if (required && !forwarding.popLinked()) {
        throw EstException.badRequest("this label requires the CSR to be linked to its TLS connection (RFC 7030 3.5), "
            + "and gateway '" + gatewayId + "' forwarded it without having checked that (it did not know the "
            + "requirement yet, or cannot read channel bindings); it learns the requirement when it next refreshes "
            + "the label's /csrattrs, and checks linked requests from then on");
      }
      return forwarding.popLinked();
    }
    Optional<String> password = csr.challengePassword();
    Optional<ChannelBinding> binding = credentials.binding();
    if (!required) {
      return password.isPresent() && binding.isPresent() && binding.get().matches(password.get());
    }
    if (password.isEmpty()) {
      throw EstException.badRequest("this label requires the CSR to be linked to its TLS connection (RFC 7030 3.5): "
          + "connect with TLS 1.2 and put the base64 of the connection's tls-unique in the CSR's challengePassword");
    }
    if (binding.isEmpty()) {
      if (!tlsExposesBindings) {
        LOG.error("label '{}' requires PoP linking, but this server's TLS provider exposes no channel binding; "
            + "set tls.provider to BCJSSE", label);
        throw EstException.internalError("this server cannot check PoP linking: its TLS provider exposes no "
            + "channel binding (the operator must set tls.provider to BCJSSE)");
      }
      throw EstException.badRequest("this label requires the CSR to be linked to its TLS connection (RFC 7030 3.5), "
          + "which this server checks with tls-unique, on TLS 1.2 connections: connect with TLS 1.2");
    }
    if (!binding.get().matches(password.get())) {
      throw EstException.forbidden("the CSR's challengePassword is not the tls-unique of this TLS connection "
          + "(RFC 7030 3.5): the CSR was made for another connection; build it after the handshake, on the "
          + "connection that sends it");
    }
    return true;
  }

  /** A gateway sent a request again: the certificate it was issued the first time, once more. */
  private static IssueResult replay(AuthenticatedClient gateway, Forwarding forwarding, Csr csr,
      X509Certificate earlier) throws EstException {
    if (!Arrays.equals(earlier.getPublicKey().getEncoded(), csr.publicKey().getEncoded())) {
      throw EstException.badRequest("request id " + forwarding.requestId() + " of gateway '" + gateway.deviceId()
          + "' was used for another key; a gateway must name each request uniquely");
    }
    LOG.info("gateway '{}' sent request {} again; returning serial {} issued for it before", gateway.deviceId(),
        forwarding.requestId(), Certificates.serialHex(earlier));
    return IssueResult.Issued.earlier(earlier);
  }

  private LabelPolicy policy(String label) throws EstException {
    LabelPolicy policy = labels.get(label);
    if (policy == null) {
      throw EstException.notFound("no EST label '" + label + "' on this server");
    }
    return policy;
  }

  /**
   * Refuses (404) a label this server does not have.
   */
  public void checkLabel(String label) throws EstException {
    policy(label);
  }

  private static Csr parse(byte[] der) throws EstException {
    try {
      return Csr.fromDer(der);
    } catch (IllegalArgumentException e) {
      throw EstException.badRequest(e.getMessage(), e);
    }
  }

  /**
   * Generates the key of a {@code /serverkeygen} request, at most one per core at a time, and
   * the request for it: the CSR's subject and attributes, the new key, checked as any CSR.
   */
  private Csr generateKey(Csr csr, KeyAlgorithm keyType, LabelPolicy policy, GeneratedKey generated)
      throws EstException {
    if (!keygens.tryAcquire()) {
      throw EstException.serviceUnavailable("the server is generating as many keys as it has cores; retry shortly",
          KEYGEN_RETRY_AFTER);
    }
    KeyPair keys;
    try {
      keys = keyType.generate(random);
    } finally {
      keygens.release();
    }
    Csr forKey;
    try {
      forKey = csr.withKey(keys);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw EstException.badRequest("the CSR's subject and attributes cannot be signed again for the generated key: "
          + e.getMessage(), e);
    }
    policy.csrPolicy().check(forKey);
    generated.keys = keys;
    return forKey;
  }

  /** The type of key a {@code /serverkeygen} request asks for: its CSR's own key's. */
  private static KeyAlgorithm keyTypeOf(Csr csr) throws EstException {
    Optional<KeyAlgorithm> type = KeyAlgorithm.of(csr.publicKey());
    if (type.isPresent()) {
      return type.get();
    }
    // Named as precisely as the CSR allows: the curve (a P-256-sized secp256k1 or brainpool key
    // is not P-256), explicit parameters, an RSA key restricted to RSASSA-PSS.
    AlgorithmIdentifier algorithm = csr.publicKeyAlgorithm();
    String described = KeyAlgorithm.describe(csr.publicKey());
    if (csr.publicKey() instanceof ECPublicKey) {
      ASN1Encodable parameters = algorithm.getParameters();
      String curve = parameters instanceof ASN1ObjectIdentifier oid
          ? Optional.ofNullable(ECNamedCurveTable.getName(oid)).orElse(oid.getId()) : "explicit parameters";
      described = "an EC key on " + curve;
    } else if (PKCSObjectIdentifiers.id_RSASSA_PSS.equals(algorithm.getAlgorithm())) {
      described = described + " restricted to RSASSA-PSS";
    }
    throw EstException.badRequest("serverkeygen generates keys of the type of the CSR's own key, which is "
        + described + "; send a CSR with an EC P-256, EC P-384, RSA 2048 or RSA 3072 key (any one: only its "
        + "type is used)");
  }

  /**
   * What an operator may revoke of the client's credential, checked again as the issuance is
   * recorded: the certificate of this CA, or every name of an IDevID's device (as it was checked).
   */
  private static IssuedCertificates.Credential revocable(AuthenticatedClient client) {
    return switch (client.method()) {
      case CERTIFICATE -> new IssuedCertificates.Credential(Certificates.serialHex(client.certificate()), List.of());
      case IDEVID -> new IssuedCertificates.Credential(null, DeviceIdentity.all(client.certificate()));
      case TOKEN -> IssuedCertificates.Credential.NONE;
    };
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
    // Compared as issued: the string types a client chose (a TeletexString where the certificate
    // has a UTF8String, say) are no change of name.
    X500Principal requested;
    X500Principal renewed;
    try {
      requested = new X500Principal(Certificates.canonicalName(csr.subject()).getEncoded());
      renewed = new X500Principal(Certificates.canonicalName(
          X500Name.getInstance(current.getSubjectX500Principal().getEncoded())).getEncoded());
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw EstException.badRequest("CSR subject cannot be encoded", e);
    }
    if (!requested.equals(renewed)) {
      throw EstException.forbidden("CSR subject '" + requested.getName() + "' differs from the certificate being renewed ('"
          + current.getSubjectX500Principal().getName() + "'); keep the subject");
    }
    if (!comparable(csr.subjectAltNames()).equals(comparable(Certificates.subjectAltNames(current)))) {
      throw EstException.forbidden("CSR subjectAltName " + csr.subjectAltNames()
          + " differs from the certificate being renewed " + Certificates.subjectAltNames(current)
          + "; keep the subjectAltName");
    }
  }

  /**
   * Names as compared on re-enrollment: dNSNames in lower case (DNS names are case-insensitive,
   * RFC 4343, and RFC 5280 section 7.2 compares them so), rfc822Names too (as {@code sanValues}
   * matches them), every other name as encoded.
   */
  private static Set<Object> comparable(List<GeneralName> names) {
    Set<Object> comparable = new HashSet<>();
    for (GeneralName name : names) {
      if (name.getTagNo() == GeneralName.dNSName || name.getTagNo() == GeneralName.rfc822Name) {
        comparable.add(name.getTagNo() + ":" + name.getName().toString().toLowerCase(Locale.ROOT));
      } else {
        comparable.add(name);
      }
    }
    return comparable;
  }

  private static EstException storeUnavailable(StoreException e) {
    LOG.error("certificate store failed; answering 503", e);
    return EstException.serviceUnavailable("the certificate store is busy or unavailable; retry later", STORE_RETRY_AFTER);
  }
}
