package org.estfleet.server.gateway;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.est.client.EnrollOutcome;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.server.config.TlsPairFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's own certificate and key (TLS server towards devices, RA client towards the
 * upstream), and their renewal: at two thirds of the certificate's lifetime the gateway
 * re-enrolls at the upstream with a new key (RFC 7030 section 4.2.2), writes the new pair over
 * the old one (each file atomically; {@link #recover} completes a pair a crash interrupted), and
 * switches both the TLS listener and the upstream client to it without a restart.
 */
public final class GatewayIdentity {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayIdentity.class);
  private static final double RENEW_AT = 2.0 / 3.0;
  private static final Duration RETRY = Duration.ofMinutes(1);

  private final Path certificateFile;
  private final Path keyFile;
  private final Supplier<List<X509Certificate>> caCertificates;
  private final Runnable refreshCaCertificates;
  private final Clock clock;
  private final SecureRandom random;
  private final List<Consumer<ClientAuth.Certificate>> listeners = new ArrayList<>();
  private volatile ClientAuth.Certificate current;
  private Instant nextAttempt = Instant.MIN;
  private volatile String lastError;
  /** The upstream's refusal of this certificate for forwarding (revoked, say), until it accepts one. */
  private volatile String refusedUpstream;
  /** What {@link #reportValidity} last logged, so that each change is logged once. */
  private Validity reported = Validity.OK;

  /** Where the gateway certificate stands. */
  public enum Validity {
    OK, RENEWAL_DUE, EXPIRED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * @param certificateFile the PEM chain (certificate first) that {@link #renewIfDue} rewrites
   * @param keyFile the PEM key that {@link #renewIfDue} rewrites
   * @param caCertificates the upstream CA's certificates (its {@code /cacerts}), to build the
   *     renewed certificate's chain from
   * @param refreshCaCertificates fetches them again (a copy kept, as the gateway's is)
   */
  public GatewayIdentity(ClientAuth.Certificate current, Path certificateFile, Path keyFile,
      Supplier<List<X509Certificate>> caCertificates, Runnable refreshCaCertificates, Clock clock,
      SecureRandom random) {
    this.current = Objects.requireNonNull(current, "current");
    this.certificateFile = certificateFile;
    this.keyFile = keyFile;
    this.caCertificates = caCertificates;
    this.refreshCaCertificates = refreshCaCertificates;
    this.clock = clock;
    this.random = random;
  }

  public ClientAuth.Certificate current() {
    return current;
  }

  /** Calls {@code listener} with each new identity once it is in force. */
  public synchronized void onChange(Consumer<ClientAuth.Certificate> listener) {
    listeners.add(listener);
  }

  /** When renewal is due: at two thirds of the certificate's lifetime. */
  public Instant renewalDue() {
    return renewalDue(current.chain().get(0));
  }

  /** When renewal of {@code certificate} is due: at two thirds of its lifetime. */
  public static Instant renewalDue(X509Certificate certificate) {
    Instant notBefore = certificate.getNotBefore().toInstant();
    Duration lifetime = Duration.between(notBefore, certificate.getNotAfter().toInstant());
    return notBefore.plusMillis((long) (lifetime.toMillis() * RENEW_AT));
  }

  /** The certificate's validity at {@code now}: renewal due from two thirds of its lifetime. */
  public Validity validity(Instant now) {
    return validity(current.chain().get(0), now);
  }

  /** The validity of {@code certificate} at {@code now}, as {@link #validity(Instant)}. */
  public static Validity validity(X509Certificate certificate, Instant now) {
    if (!now.isBefore(certificate.getNotAfter().toInstant())) {
      return Validity.EXPIRED;
    }
    return now.isBefore(renewalDue(certificate)) ? Validity.OK : Validity.RENEWAL_DUE;
  }

  /** Why the last renewal attempt failed; null if it succeeded or none was made. */
  /** Why the upstream refused the last forward as not a gateway's, or null since it took one. */
  public String refusedUpstream() {
    return refusedUpstream;
  }

  /** The upstream refused a forward for this certificate: not the device's doing. */
  public void refusedUpstream(String reason) {
    refusedUpstream = reason;
  }

  /** The upstream judged a forward (issued, deferred or refused the device's request): it took the certificate. */
  public void acceptedUpstream() {
    refusedUpstream = null;
  }

  public String lastError() {
    return lastError;
  }

  /**
   * Logs, once each time it changes, that the certificate is due for renewal while the upstream is
   * out of reach (renewal is attempted only when it is back), and that it expired: then devices
   * refuse this gateway's TLS and the upstream its forwards until it is enrolled again.
   */
  public synchronized void reportValidity(boolean upstreamUp) {
    Validity validity = validity(clock.instant());
    if (validity == reported || (validity == Validity.RENEWAL_DUE && upstreamUp)) {
      return;
    }
    reported = validity;
    X509Certificate certificate = current.chain().get(0);
    if (validity == Validity.EXPIRED) {
      LOG.error("the gateway certificate {} expired at {}: devices refuse this gateway's TLS and the upstream its "
          + "forwards; enroll the gateway again with a new gateway token: est-server init --gateway --reenroll "
          + "(keeps its queue)", Certificates.describe(certificate), certificate.getNotAfter().toInstant());
    } else if (validity == Validity.RENEWAL_DUE) {
      LOG.warn("the gateway certificate {} is due for renewal since {} and expires {}; the upstream is out of reach: "
          + "renewal is attempted once it is back", Certificates.describe(certificate), renewalDue(),
          certificate.getNotAfter().toInstant());
    }
  }

  /**
   * Renews the certificate at the upstream if it is due (and the last failed attempt was more
   * than a minute ago).
   *
   * @return whether a new certificate is now in force
   */
  public synchronized boolean renewIfDue(Upstream upstream) {
    Instant now = clock.instant();
    if (now.isBefore(renewalDue()) || now.isBefore(nextAttempt)) {
      return false;
    }
    X509Certificate old = current.chain().get(0);
    KeyPair keys = KeyAlgorithm.EC_P256.generate(random);
    Csr csr = new CsrBuilder()
        .subject(X500Name.getInstance(old.getSubjectX500Principal().getEncoded()))
        .subjectAltNames(Certificates.subjectAltNames(old))
        .sign(keys);
    EnrollOutcome outcome = upstream.reenroll(csr, current);
    if (!(outcome instanceof EnrollOutcome.Issued issued)) {
      nextAttempt = now.plus(RETRY);
      lastError = describe(outcome);
      LOG.warn("renewing the gateway certificate {} (expires {}) failed: {}; trying again in {}",
          Certificates.describe(old), old.getNotAfter().toInstant(), describe(outcome), RETRY);
      return false;
    }
    X509Certificate renewed = issued.certificate();
    if (!Arrays.equals(renewed.getPublicKey().getEncoded(), keys.getPublic().getEncoded()) || !isGateway(renewed)) {
      nextAttempt = now.plus(RETRY);
      lastError = "the renewed certificate is not for the new key or lacks serverAuth/id-kp-cmcRA";
      LOG.error("the upstream renewed the gateway certificate as {}, which is not for the new key or lacks "
          + "serverAuth/id-kp-cmcRA; keeping {}", Certificates.describe(renewed), Certificates.describe(old));
      return false;
    }
    List<X509Certificate> chain = chainToRoot(renewed, caCertificates.get());
    if (chain == null) {
      // The CA's certificates as this gateway last fetched them (every gateway.cacheRefresh) do not
      // lead to the renewed certificate's issuer: a root rollover since. A chain of the certificate
      // alone would fail every device's TLS until the next renewal. Fetched again (the gateway's
      // copy, which its devices' certificates are judged by too).
      refreshCaCertificates.run();
      chain = chainToRoot(renewed, caCertificates.get());
    }
    if (chain == null) {
      nextAttempt = now.plus(RETRY);
      lastError = "the renewed certificate " + Certificates.describe(renewed)
          + " does not chain to a root of the upstream's /cacerts";
      LOG.error("{}; keeping {}, trying again in {}", lastError, Certificates.describe(old), RETRY);
      return false;
    }
    try {
      TlsPairFiles.stage(certificateFile, keyFile, chain, keys.getPrivate());
    } catch (IOException e) {
      nextAttempt = now.plus(RETRY);
      lastError = "cannot write the renewed key: " + org.estfleet.io.IoMessages.reason(e);
      LOG.error("cannot write the renewed gateway key next to {}: {}; keeping {}", keyFile, e.getMessage(),
          Certificates.describe(old));
      return false;
    }
    current = new ClientAuth.Certificate(keys.getPrivate(), chain);
    lastError = null;
    refusedUpstream = null; // a new certificate: the next forward says whether it is taken
    reported = Validity.OK;
    try {
      TlsPairFiles.complete(certificateFile, chain);
    } catch (IOException e) {
      LOG.error("cannot write the renewed gateway certificate to {} ({}); it is staged beside it and the next start "
          + "uses it", certificateFile, e.getMessage());
    }
    LOG.info("renewed the gateway certificate: serial {} valid until {}", Certificates.serialHex(renewed),
        renewed.getNotAfter().toInstant());
    for (Consumer<ClientAuth.Certificate> listener : listeners) {
      try {
        listener.accept(current);
      } catch (RuntimeException e) {
        LOG.error("switching to the renewed gateway certificate failed: {}; restart the gateway to use it",
            e.getMessage());
      }
    }
    return true;
  }

  /** Completes a renewal a crash interrupted (see {@link TlsPairFiles#recover}). */
  public static void recover(Path certificateFile, Path keyFile) throws IOException {
    TlsPairFiles.recover(certificateFile, keyFile);
  }

  /**
   * {@link #chainOf} {@code leaf}, if it ends with a certificate that a root of {@code caCertificates}
   * signed; else null.
   */
  static List<X509Certificate> chainToRoot(X509Certificate leaf, List<X509Certificate> caCertificates) {
    List<X509Certificate> chain = chainOf(leaf, caCertificates);
    X509Certificate last = chain.get(chain.size() - 1);
    for (X509Certificate ca : caCertificates) {
      if (ca.getSubjectX500Principal().equals(ca.getIssuerX500Principal())
          && ca.getSubjectX500Principal().equals(last.getIssuerX500Principal())) {
        try {
          last.verify(ca.getPublicKey());
          return chain;
        } catch (java.security.GeneralSecurityException | RuntimeException otherKey) {
          // a root of the same name under another key (or not a signature it verifies): not this one
        }
      }
    }
    return null;
  }

  /**
   * {@code leaf} and the CA certificates above it in {@code caCertificates}, by name, up to (not
   * including) a root: during a root rollover through the new issuing CA and NewWithOld, so that
   * clients trusting either root validate it.
   */
  public static List<X509Certificate> chainOf(X509Certificate leaf, List<X509Certificate> caCertificates) {
    List<X509Certificate> chain = new ArrayList<>(List.of(leaf));
    X509Certificate current = leaf;
    while (chain.size() < 10) {
      X509Certificate next = null;
      for (X509Certificate ca : caCertificates) {
        boolean selfSigned = ca.getSubjectX500Principal().equals(ca.getIssuerX500Principal());
        // A link back to a name already in the chain (a rollover's OldWithNew after its NewWithOld) is a loop.
        boolean loops = chain.stream().anyMatch(c -> c.getSubjectX500Principal().equals(ca.getIssuerX500Principal()));
        if (!selfSigned && !loops && ca.getSubjectX500Principal().equals(current.getIssuerX500Principal())
            && !chain.contains(ca)) {
          next = ca;
          break;
        }
      }
      if (next == null) {
        break;
      }
      chain.add(next);
      current = next;
    }
    return chain;
  }

  private static boolean isGateway(X509Certificate certificate) {
    try {
      List<String> usages = certificate.getExtendedKeyUsage();
      return usages != null && usages.contains(KeyPurposeId.id_kp_cmcRA.getId())
          && usages.contains(KeyPurposeId.id_kp_serverAuth.getId());
    } catch (CertificateParsingException e) {
      return false;
    }
  }

  private static String describe(EnrollOutcome outcome) {
    if (outcome instanceof EnrollOutcome.Failed failed) {
      return failed.failure().describe();
    }
    return "the upstream deferred it";
  }
}
