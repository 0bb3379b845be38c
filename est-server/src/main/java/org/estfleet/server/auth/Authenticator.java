package org.estfleet.server.auth;

import java.security.GeneralSecurityException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.estfleet.est.EstException;
import org.estfleet.pki.CertificatePath;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.DeviceIdentity;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.IssuedCertificates;
import org.estfleet.server.store.Role;

/**
 * Decides who is asking (DESIGN.md section 4). TLS accepted any client certificate; this is
 * where it is judged, so that a refusal is an HTTP status with a reason instead of a failed
 * handshake, and so that the re-enrollment grace period can apply to expired certificates.
 *
 * <ul>
 *   <li>Operational: a certificate this server issued (chains to its CA and is in the ledger),
 *       currently valid, with EKU clientAuth. Identity: its CN.
 *   <li>IDevID: a certificate chaining to a configured manufacturer CA. Identity: the first of
 *       the configured sources it carries ({@link DeviceIdentity}: by default its CN, else its
 *       first URI subjectAltName, else its serialNumber). Enrollment only.
 *   <li>Token: HTTP Basic {@code deviceId:token}. Identity: the device id. Enrollment only.
 *   <li>Gateway (RA): an operational certificate of a gateway, with EKU {@code id-kp-cmcRA}; it
 *       may forward requests ({@link #registrationAuthority}).
 * </ul>
 */
public final class Authenticator {
  private final Supplier<List<X509Certificate>> caCertificates;
  private final List<X509Certificate> manufacturerCas;
  private final Set<String> idevidLabels;
  private final List<DeviceIdentity> idevidIdentity;
  private final IssuanceLookup issuance;
  private final BootstrapTokens tokens;
  private final Duration reenrollGrace;
  private final Duration gatewayHoldLimit;
  private final Clock clock;

  /**
   * @param caCertificates this CA's certificates (self-signed ones are roots, the others issuing
   *     CAs), read at each request: a gateway's change when it refreshes its copy
   * @param manufacturerCas the manufacturer CAs whose device certificates may bootstrap
   * @param idevidLabels the EST labels their certificates enroll under, null for any
   * @param idevidIdentity where their certificates name the device, in order
   * @param tokens the bootstrap tokens; null on a gateway, where the upstream checks them
   * @param reenrollGrace how long after expiry a certificate may still re-enroll
   * @param gatewayHoldLimit how long ago a gateway may have accepted a request it forwards for
   *     the device's certificate to be judged as of then
   */
  public Authenticator(Supplier<List<X509Certificate>> caCertificates, List<X509Certificate> manufacturerCas,
      Set<String> idevidLabels, List<DeviceIdentity> idevidIdentity, IssuanceLookup issuance, BootstrapTokens tokens,
      Duration reenrollGrace, Duration gatewayHoldLimit, Clock clock) {
    this.caCertificates = caCertificates;
    this.manufacturerCas = List.copyOf(manufacturerCas);
    this.idevidLabels = idevidLabels == null ? null : Set.copyOf(idevidLabels);
    this.idevidIdentity = List.copyOf(idevidIdentity);
    this.issuance = issuance;
    this.tokens = tokens;
    this.reenrollGrace = reenrollGrace;
    this.gatewayHoldLimit = gatewayHoldLimit;
    this.clock = clock;
  }

  /** At most how many certificates {@link #ledgerLookup} remembers. */
  static final int REMEMBERED_ISSUANCES = 4096;

  /**
   * The lookup of a CA whose ledger is {@code ledger}. The ledger is append-only, so what it says
   * of a serial once it holds it does not change: the records found are remembered (holder, role
   * and label, up to {@link #REMEMBERED_ISSUANCES}, then forgotten all at once), and a gateway's
   * requests on a kept-alive connection, all made with one certificate, read the ledger once. A
   * serial not found is asked again next time. Revocations, which come later, are looked up in
   * {@code revocations} at every call.
   */
  public static IssuanceLookup ledgerLookup(IssuedCertificates ledger, RevocationList revocations) {
    Map<String, Holder> found = new ConcurrentHashMap<>();
    return new IssuanceLookup() {
      @Override
      public Optional<Issuance> find(String serial, String identity) {
        return lookUp(ledger, revocations, found, serial, identity);
      }

      @Override
      public Optional<String> deviceRevoked(String deviceId) {
        return revocations.findDevice(deviceId).map(RevocationList::describe);
      }
    };
  }

  private static Optional<IssuanceLookup.Issuance> lookUp(IssuedCertificates ledger, RevocationList revocations,
      Map<String, Holder> found, String serial, String identity) {
    Holder holder = found.get(serial);
    if (holder == null) {
      Optional<IssuanceRecord> record = ledger.find(serial);
      if (record.isEmpty()) {
        return Optional.empty();
      }
      holder = new Holder(record.get().deviceId(),
          new IssuanceLookup.Issuance(record.get().role(), record.get().label()));
      if (found.size() >= REMEMBERED_ISSUANCES) {
        found.clear();
      }
      found.put(serial, holder);
    }
    if (!holder.identity().equals(identity)) {
      return Optional.empty();
    }
    // Revocations are not remembered with the record: they come after it.
    IssuanceLookup.Issuance issuance = holder.issuance();
    return Optional.of(revocations.find(serial)
        .map(revoked -> new IssuanceLookup.Issuance(issuance.role(), issuance.label(),
            RevocationList.describe(revoked)))
        .orElse(issuance));
  }

  /** To whom, in which role and under which label, a certificate was issued. */
  private record Holder(String identity, IssuanceLookup.Issuance issuance) {}

  /** How a token enrollment is recorded in the ledger ({@code auth_detail}): which token. */
  public static String tokenDetail(long tokenId) {
    return "token #" + tokenId;
  }

  /**
   * Authenticates a gateway forwarding a request: its TLS client certificate must be a currently
   * valid certificate this CA issued to a gateway, with EKU {@code id-kp-cmcRA} (RFC 6402 section
   * 2.10; DESIGN.md section 4).
   *
   * @throws EstException 403 for any other client
   */
  public AuthenticatedClient registrationAuthority(List<X509Certificate> tlsChain) throws EstException {
    if (tlsChain.isEmpty()) {
      throw EstException.forbidden(Forwarding.NOT_A_GATEWAY + " (RA) certificate; this request has no client certificate");
    }
    X509Certificate leaf = tlsChain.get(0);
    AuthenticatedClient client;
    try {
      if (!isIssuedByThisCa(leaf)) {
        throw EstException.forbidden("certificate " + Certificates.describe(leaf) + " was not issued by this CA");
      }
      client = operational(tlsChain, clock.instant(), Duration.ZERO);
    } catch (EstException e) {
      throw EstException.forbidden(Forwarding.NOT_A_GATEWAY + " (RA): " + e.getMessage());
    }
    if (client.role() != Role.GATEWAY || !hasExtendedKeyUsage(leaf, KeyPurposeId.id_kp_cmcRA)) {
      throw EstException.forbidden(Forwarding.NOT_A_GATEWAY + " (RA): certificate "
          + Certificates.describe(leaf) + " is not a gateway certificate; gateways enroll with a gateway token");
    }
    return client;
  }

  /**
   * Authenticates a first enrollment ({@code /simpleenroll}): a token if HTTP Basic credentials
   * were sent, else the client certificate (operational or IDevID).
   *
   * @throws EstException 401 with the reason
   */
  public AuthenticatedClient forEnroll(Credentials credentials) throws EstException {
    return forEnroll(credentials, clock.instant());
  }

  /**
   * When a forwarded request's device certificate is judged: when the gateway accepted it, if
   * that is within {@code gatewayHoldLimit}; now if the gateway did not say or says a time to come.
   *
   * @throws EstException 401 when the gateway held the request longer than the limit
   */
  public Instant judgedAt(Forwarding forwarding) throws EstException {
    Instant now = clock.instant();
    Instant received = forwarding.receivedAt();
    if (received == null || received.isAfter(now)) {
      return now;
    }
    if (received.isBefore(now.minus(gatewayHoldLimit))) {
      throw EstException.unauthorized("the gateway accepted this request at " + received + ", longer ago than the "
          + gatewayHoldLimit + " this CA allows (reenroll.gatewayHoldLimit); the device must authenticate anew");
    }
    return received;
  }

  /** As {@link #forEnroll(Credentials)}, with certificates judged as of {@code at}. */
  public AuthenticatedClient forEnroll(Credentials credentials, Instant at) throws EstException {
    Optional<BasicCredentials> basic = credentials.basicCredentials();
    if (basic.isPresent()) {
      String deviceId = basic.get().userId();
      if (tokens == null) {
        // A gateway: the upstream checks the token when the request is forwarded.
        return new AuthenticatedClient(deviceId, AuthMethod.TOKEN, "token (checked upstream)", null, null, Role.DEVICE,
            null);
      }
      BootstrapTokens.CheckedToken token = tokens.check(deviceId, basic.get().password());
      return new AuthenticatedClient(deviceId, AuthMethod.TOKEN, tokenDetail(token.id()), token.id(), null, token.role(),
          AuthenticatedClient.only(token.label()));
    }
    if (credentials.clientChain().isEmpty()) {
      throw EstException.unauthorized(
          "authenticate with HTTP Basic deviceId:token or a client certificate (IDevID or one this CA issued)");
    }
    X509Certificate leaf = credentials.clientChain().get(0);
    Instant now = at;
    if (isIssuedByThisCa(leaf)) {
      return operational(credentials.clientChain(), now, Duration.ZERO);
    }
    List<X509Certificate> intermediates = credentials.clientChain().subList(1, credentials.clientChain().size());
    try {
      CertificatePath.validate(leaf, intermediates, manufacturerCas, now);
    } catch (GeneralSecurityException e) {
      throw EstException.unauthorized(manufacturerCas.isEmpty()
          ? "client certificate " + Certificates.describe(leaf)
              + " is not from this CA, and no manufacturer (IDevID) CA is configured"
          : "client certificate is not a valid device certificate: " + e.getMessage());
    }
    checkMaySign(leaf, "enroll with a token");
    // Each refusal gives its reason before the certificate's description, which a long subject
    // can make long enough for the message to be cut.
    String identity;
    try {
      identity = DeviceIdentity.first(leaf, idevidIdentity).orElseThrow(() -> EstException.unauthorized(
          "the device certificate carries no " + DeviceIdentity.describe(idevidIdentity) + " to name the device by "
              + "(bootstrap.idevidIdentity): " + Certificates.describe(leaf)));
    } catch (IllegalArgumentException ambiguous) {
      throw EstException.unauthorized("the device certificate does not name its device plainly: "
          + ambiguous.getMessage() + ": " + Certificates.describe(leaf));
    }
    Optional<String> unusable = DeviceIdentity.problem(identity)
        .or(() -> identity.length() > DeviceIdentity.MAX_ENROLLED_LENGTH
            ? Optional.of("is " + identity.length() + " characters long, and a certificate's CN holds at most "
                + DeviceIdentity.MAX_ENROLLED_LENGTH + " (RFC 5280)")
            : Optional.empty());
    if (unusable.isPresent()) {
      throw EstException.unauthorized("the device certificate names its device by an identity that " + unusable.get()
          + "; it cannot enroll: " + Certificates.describe(leaf));
    }
    // Every name the certificate carries, not only the one in use: a device revoked under its CN
    // stays revoked after bootstrap.idevidIdentity turned to its serialNumber.
    for (String name : DeviceIdentity.all(leaf)) {
      Optional<String> revoked = issuance.deviceRevoked(name);
      if (revoked.isPresent()) {
        throw EstException.unauthorized("device '" + name + "' " + revoked.get() + "; its manufacturer certificate "
            + "enrolls no more here" + (name.equals(identity) ? "" : " (under any name)") + ": "
            + BootstrapTokens.afterRevocation(identity));
      }
    }
    return new AuthenticatedClient(identity, AuthMethod.IDEVID,
        "idevid serial " + Certificates.serialHex(leaf) + " from '" + leaf.getIssuerX500Principal().getName() + "'",
        null, leaf, Role.DEVICE, idevidLabels);
  }

  /**
   * Authenticates a re-enrollment ({@code /simplereenroll}): the client certificate must be one
   * this CA issued, valid now or expired less than the grace period ago (RFC 7030 4.2.2).
   *
   * @throws EstException 401 with the reason
   */
  public AuthenticatedClient forReenroll(Credentials credentials) throws EstException {
    return forReenroll(credentials, clock.instant());
  }

  /** As {@link #forReenroll(Credentials)}, with the certificate judged as of {@code at}. */
  public AuthenticatedClient forReenroll(Credentials credentials, Instant at) throws EstException {
    if (credentials.clientChain().isEmpty()) {
      throw EstException.unauthorized(
          "re-enrollment needs the certificate being renewed as the TLS client certificate");
    }
    if (!isIssuedByThisCa(credentials.clientChain().get(0))) {
      throw EstException.unauthorized("client certificate " + Certificates.describe(credentials.clientChain().get(0))
          + " was not issued by this CA; a manufacturer certificate or token enrolls with simpleenroll");
    }
    return operational(credentials.clientChain(), at, reenrollGrace);
  }

  /**
   * The identity a client certificate claims, before it is judged: the CN of one this CA issued,
   * else the identity it would have as an IDevID ({@code bootstrap.idevidIdentity}); null if it
   * names none plainly. Failed attempts are counted against it, and the audit log names it.
   */
  public String claimedIdentity(X509Certificate leaf) {
    try {
      return (isIssuedByThisCa(leaf) ? Certificates.commonName(leaf.getSubjectX500Principal())
          : DeviceIdentity.first(leaf, idevidIdentity)).orElse(null);
    } catch (IllegalArgumentException ambiguous) {
      return null;
    }
  }

  private boolean isIssuedByThisCa(X509Certificate leaf) {
    for (X509Certificate ca : caCertificates.get()) {
      if (ca.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
        return true;
      }
    }
    return false;
  }

  private AuthenticatedClient operational(List<X509Certificate> chain, Instant now, Duration grace)
      throws EstException {
    X509Certificate leaf = chain.get(0);
    Instant notAfter = leaf.getNotAfter().toInstant();
    // Within the grace period an expired certificate is judged as of its last valid instant:
    // everything else about the path must hold then.
    Instant at = now.isAfter(notAfter) && !now.isAfter(notAfter.plus(grace)) ? notAfter : now;
    List<X509Certificate> roots = new ArrayList<>();
    List<X509Certificate> intermediates = new ArrayList<>();
    for (X509Certificate ca : caCertificates.get()) {
      (ca.getSubjectX500Principal().equals(ca.getIssuerX500Principal()) ? roots : intermediates).add(ca);
    }
    intermediates.addAll(chain.subList(1, chain.size()));
    try {
      CertificatePath.validate(leaf, intermediates, roots, at);
    } catch (GeneralSecurityException e) {
      String hint = now.isAfter(notAfter)
          ? (grace.isZero() ? "; this server allows no grace period, so enroll again with a token or IDevID"
              : "; the grace period of " + grace + " has passed, so enroll again with a token or IDevID")
          : "";
      throw EstException.unauthorized("client certificate rejected: " + e.getMessage() + hint);
    }
    if (!hasExtendedKeyUsage(leaf, KeyPurposeId.id_kp_clientAuth)) {
      throw EstException.unauthorized("client certificate " + Certificates.describe(leaf)
          + " lacks extended key usage clientAuth");
    }
    checkMaySign(leaf, "enroll again with a token or IDevID");
    String serial = Certificates.serialHex(leaf);
    String identity = Certificates.commonName(leaf.getSubjectX500Principal()).orElse(null);
    Optional<IssuanceLookup.Issuance> issued = identity == null ? Optional.empty() : issuance.find(serial, identity);
    if (issued.isEmpty()) {
      throw EstException.unauthorized("client certificate serial " + serial
          + " is not in this server's issuance records");
    }
    if (issued.get().revoked() != null) {
      throw EstException.unauthorized("client certificate serial " + serial + " " + issued.get().revoked()
          + "; it authenticates nothing here any more: enroll again with a new token");
    }
    return new AuthenticatedClient(identity, AuthMethod.CERTIFICATE, "certificate serial " + serial, null, leaf,
        issued.get().role(), AuthenticatedClient.only(issued.get().label()));
  }

  /**
   * A TLS client authenticates by signing (RFC 8446 section 4.4.2.2: digitalSignature, if the
   * certificate has a key usage extension). Bouncy Castle's TLS fails such a handshake itself;
   * the JDK's lets it through to here.
   */
  private static void checkMaySign(X509Certificate leaf, String remedy) throws EstException {
    if (!Certificates.maySign(leaf)) {
      throw EstException.unauthorized("client certificate " + Certificates.describe(leaf) + " may not sign "
          + "(its key usage lacks digitalSignature), so it cannot authenticate a TLS client; " + remedy);
    }
  }

  private static boolean hasExtendedKeyUsage(X509Certificate certificate, KeyPurposeId purpose) {
    try {
      List<String> usages = certificate.getExtendedKeyUsage();
      return usages != null && usages.contains(purpose.getId());
    } catch (CertificateParsingException e) {
      return false;
    }
  }
}
