package org.estfleet.server.ca;

import java.math.BigInteger;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.estfleet.est.CsrAttributes;
import org.estfleet.est.EstException;
import org.estfleet.pki.CertificateBuilder;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Pem;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This server's own CA: signs with the issuing key, and records each certificate, consuming the
 * bootstrap token it was issued under, before returning it.
 */
public final class LocalCa implements CertificateAuthority {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCa.class);
  private static final int SERIAL_ATTEMPTS = 3;
  /** When a device refused because the issuing CA certificate is not valid asks again. */
  private static final Duration UNUSABLE_RETRY_AFTER = Duration.ofHours(1);

  private final Supplier<CaMaterial> material;
  private final Map<String, CertificateProfile> profiles;
  private final CertificateProfile gatewayProfile;
  private final IssuedCertificates ledger;
  private final Clock clock;
  private final SecureRandom random;

  /**
   * @param profiles the profile of each label, {@code ""} for the default
   * @param gatewayProfile the profile of gateways' certificates
   */
  public LocalCa(CaMaterial material, Map<String, CertificateProfile> profiles, CertificateProfile gatewayProfile,
      IssuedCertificates ledger, Clock clock, SecureRandom random) {
    this(() -> material, profiles, gatewayProfile, ledger, clock, random);
  }

  /**
   * A CA whose material may change while it runs (a root rollover taken up, {@link CaReloader}):
   * each request reads the material in force once.
   */
  public LocalCa(Supplier<CaMaterial> material, Map<String, CertificateProfile> profiles,
      CertificateProfile gatewayProfile, IssuedCertificates ledger, Clock clock, SecureRandom random) {
    this.material = material;
    this.profiles = Map.copyOf(profiles);
    this.gatewayProfile = gatewayProfile;
    this.ledger = ledger;
    this.clock = clock;
    this.random = random;
  }

  @Override
  public List<X509Certificate> caCertificates(String label) {
    return material.get().certificates();
  }

  @Override
  public Optional<CsrAttributes> csrAttributes(String label) throws EstException {
    return Optional.of(profile(label).csrAttributes());
  }

  @Override
  public IssueResult issue(IssueRequest request) throws EstException {
    if (request.requester().role() == Role.GATEWAY) {
      return issue(request, gatewayProfile);
    }
    return issue(request, profile(request.label()));
  }

  private CertificateProfile profile(String label) throws EstException {
    CertificateProfile profile = profiles.get(label);
    if (profile == null) {
      throw EstException.notFound("no EST label '" + label + "' on this server");
    }
    return profile;
  }

  /**
   * The certificate issued before for this key by this credential under this label, still valid:
   * the one {@link #issue} would answer a retry with, without signing. Token and forwarded
   * requests are found again before they get here, by their token or request id (EstService).
   */
  @Override
  public Optional<IssueResult> resend(IssueRequest request) {
    Requester asking = request.requester();
    if (asking.tokenId() != null || asking.requestId() != null) {
      return Optional.empty();
    }
    return issuedBefore(asking.deviceId(), Certificates.publicKeyFingerprint(request.csr().publicKey()),
        asking.authDetail(), request.label(), clock.instant()).map(IssueResult.class::cast);
  }

  /** Issues under an explicit profile; also used for the server's own TLS certificate. */
  public IssueResult.Issued issue(IssueRequest request, CertificateProfile profile) throws EstException {
    Instant now = clock.instant();
    CaMaterial.Issuer issuer = material.get().issuerAt(now);
    X509Certificate issuing = issuer.certificate();
    Requester asking = request.requester();
    Optional<String> unusable = unusable(issuing, now);
    if (unusable.isPresent()) {
      // Not the request's fault, nor a bug: this CA cannot issue until an operator acts. The log
      // says so at start and at each reload, /health all along; each refusal is a debug line.
      LOG.debug("refused an enrollment of {}: {}", asking.deviceId(), unusable.get());
      throw EstException.serviceUnavailable(unusable.get() + "; retry later", UNUSABLE_RETRY_AFTER);
    }
    // The same key by the same credential again (the same client certificate) may be a client
    // whose answer was lost (the server restarted, the link dropped) retrying its request: it
    // gets what was issued for it, not a second certificate for one key. The ledger looks for
    // that in the write transaction, where two sends of one request cannot both miss it (a retry
    // costs a signature that is never sent; a look-up before signing cost every request a read
    // of its own). A used token's retry is answered before it gets here, by EstService; gateways
    // name their requests.
    boolean retryable = asking.tokenId() == null && asking.requestId() == null;
    // Backdating covers device clocks a little behind; capped at a tenth of the lifetime, so
    // that it never becomes most of a short-lived certificate's validity.
    Duration backdate = min(profile.backdate(), profile.lifetime().dividedBy(10));
    Instant notBefore = latest(now.minus(backdate), issuing.getNotBefore().toInstant());
    Instant notAfter = now.plus(profile.lifetime());
    Instant caEnd = issuing.getNotAfter().toInstant();
    if (notAfter.isAfter(caEnd)) {
      // A certificate may not outlive its issuer (RFC 5280 path validation would reject it
      // after the CA expires); shorten it and say so, since it means a CA rollover is due.
      LOG.warn("issuing CA expires {}: certificate for {} shortened to end then", caEnd,
          request.requester().deviceId());
      notAfter = caEnd;
    }
    for (int attempt = 0; attempt < SERIAL_ATTEMPTS; attempt++) {
      BigInteger serial = CertificateBuilder.randomSerial(random);
      X509Certificate certificate = new CertificateBuilder()
          .subject(Certificates.canonicalName(request.csr().subject()))
          .publicKey(request.csr().publicKey())
          .subjectAltNames(request.csr().subjectAltNames())
          .serial(serial)
          .validity(notBefore, notAfter)
          .keyUsage(profile.keyUsageFor(request.csr().publicKeyAlgorithm()))
          .extendedKeyUsages(profile.extendedKeyUsages())
          .signWith(issuing, issuer.key());
      Requester requester = request.requester();
      IssuanceRecord record = new IssuanceRecord(
          Certificates.serialHex(serial),
          requester.deviceId(),
          certificate.getSubjectX500Principal().getName(),
          request.label(),
          notBefore,
          notAfter,
          now,
          requester.authMethod(),
          requester.authDetail(),
          requester.tokenId(),
          Certificates.publicKeyFingerprint(certificate.getPublicKey()),
          Pem.encode(certificate),
          requester.forwardedBy(),
          requester.requestId(),
          requester.role());
      IssuedCertificates.Outcome outcome = retryable ? ledger.recordUnlessRetry(record, requester.credential())
          : ledger.record(record, requester.credential());
      switch (outcome) {
        case RECORDED -> {
          LOG.info("issued serial {} to {} {} ({}, {}{}{}), valid until {}", Certificates.serialHex(serial),
              requester.role().column(), requester.deviceId(), requester.authMethod(), requester.authDetail(),
              request.label().isEmpty() ? "" : ", label " + request.label(),
              requester.forwardedBy() == null ? "" : ", forwarded by gateway " + requester.forwardedBy(), notAfter);
          return new IssueResult.Issued(certificate);
        }
        case TOKEN_ALREADY_USED -> {
          // Another request with this token was recorded first. If it was the same request (a
          // retry that raced it: same token, same key, the CSR's signature proving it), its
          // certificate is the answer, not a second one; this one, never recorded, is never sent.
          Optional<IssueResult.Issued> earlier = issuedBefore(record, now);
          if (earlier.isPresent()) {
            return earlier.get();
          }
          throw EstException.unauthorized("the enrollment token was used by another request; ask for a new token");
        }
        case CREDENTIAL_REVOKED -> throw EstException.unauthorized(requester.credential().certificateSerial() != null
            ? "client certificate serial " + requester.credential().certificateSerial() + " was revoked while this request was "
                + "checked (est-server revoke); it authenticates nothing here any more: enroll again with a new token"
            : "device '" + requester.deviceId() + "' was revoked while this request was checked (est-server revoke "
                + "--device, under a name its manufacturer certificate carries); it enrolls no more here with it: "
                + BootstrapTokens.afterRevocation(requester.deviceId()));
        case TOKEN_REVOKED -> throw EstException.unauthorized("the enrollment token for '" + requester.deviceId()
            + "' was revoked while this request was checked" + revocationOf(record.tokenId()) + "; ask for a new one");
        case RETRY -> {
          // Recorded before, so found now (by the very look-up the ledger made, after its commit):
          // the ledger is append-only, and the certificate was valid at now; unless it was revoked
          // in between.
          return issuedBefore(record, now).orElseThrow(LocalCa::revokedMeanwhile);
        }
        case DUPLICATE_SERIAL -> LOG.warn("random serial {} already taken; drawing another", serial);
        case KEY_REVOKED -> throw EstException.forbidden("certificate serial "
            + ledger.revokedForKey(record.deviceId(), record.publicKeySha256()).orElse("?") + " of " + record.deviceId()
            + " for this key was revoked (est-server revoke); make a new key");
        case DUPLICATE_REQUEST -> {
          // The same forwarded request, raced in by a concurrent retry: the first one's certificate.
          IssuanceRecord first = ledger.findForwarded(requester.forwardedBy(), requester.requestId())
              .orElseThrow(LocalCa::revokedMeanwhile);
          return IssueResult.Issued.earlier(
              Pem.readCertificates(first.certificatePem(), "ledger serial " + first.serial()).get(0));
        }
      }
    }
    throw new IllegalStateException(SERIAL_ATTEMPTS + " random serial numbers collided; is the random source broken?");
  }

  /**
   * Why {@code issuing} cannot issue at {@code now} (it has expired, or is not valid yet), or
   * empty if it can.
   */
  public static Optional<String> unusable(X509Certificate issuing, Instant now) {
    if (!now.isBefore(issuing.getNotAfter().toInstant())) {
      return Optional.of("the issuing CA certificate " + Certificates.describe(issuing) + " expired at "
          + issuing.getNotAfter().toInstant() + ": this CA issues nothing until it is renewed (est-server rollover)");
    }
    if (now.isBefore(issuing.getNotBefore().toInstant())) {
      return Optional.of("the issuing CA certificate " + Certificates.describe(issuing) + " is valid only from "
          + issuing.getNotBefore().toInstant() + ": this CA issues nothing before then (is the clock right?)");
    }
    return Optional.empty();
  }

  private static EstException revokedMeanwhile() {
    return EstException.unauthorized("the certificate issued for this request was revoked (est-server revoke); "
        + "enroll again with a new token");
  }

  /**
   * The certificate issued before to {@code record}'s requester for its key by the same credential
   * and under the same label, still valid at {@code now}: the look-up of
   * {@link IssuedCertificates#recordUnlessRetry}, with the key's fingerprint as recorded.
   */
  private Optional<IssueResult.Issued> issuedBefore(IssuanceRecord record, Instant now) {
    return issuedBefore(record.deviceId(), record.publicKeySha256(), record.authDetail(), record.label(), now);
  }

  private Optional<IssueResult.Issued> issuedBefore(String deviceId, String publicKeySha256, String authDetail,
      String label, Instant now) {
    return ledger.findRetry(deviceId, publicKeySha256, authDetail, label, now)
        .map(earlier -> {
          LOG.info("{} asked again for key {} with {}; returning serial {} issued for it at {}", deviceId,
              earlier.publicKeySha256(), authDetail, earlier.serial(), earlier.issuedAt());
          return IssueResult.Issued.earlier(
              Pem.readCertificates(earlier.certificatePem(), "ledger serial " + earlier.serial()).get(0));
        });
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static Instant latest(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }

  /** ", at TIME (REASON)" of a revoked token, or nothing if the store cannot say: the refusal stands either way. */
  private String revocationOf(Long tokenId) {
    try {
      return ledger.token(tokenId).filter(token -> token.revokedAt() != null)
          .map(token -> ", at " + token.revokedAt() + " (" + token.revokedReason() + ")").orElse("");
    } catch (StoreException e) {
      LOG.warn("could not read token #{} to say when it was revoked", tokenId, e);
      return "";
    }
  }
}
