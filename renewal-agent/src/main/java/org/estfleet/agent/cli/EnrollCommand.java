package org.estfleet.agent.cli;

import com.google.gson.JsonElement;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.estfleet.agent.AgentException;
import org.estfleet.agent.BuildInfo;
import org.estfleet.agent.Renewer;
import org.estfleet.agent.store.AgentConfig;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.CredentialStore;
import org.estfleet.agent.store.StateDir;
import org.estfleet.agent.store.StateLock;
import org.estfleet.agent.store.StateSnapshot;
import org.estfleet.est.client.ClientAuth;
import org.estfleet.io.SmallFiles;
import org.estfleet.json.DurationText;
import org.estfleet.json.Json;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.DeviceIdentity;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.tls.TlsProvider;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code renewal-agent enroll}: bootstraps a device. Generates its key, fetches the CA
 * certificates over a connection authenticated by the given CA file and keeps them as explicit
 * trust anchors, enrolls with a one-time token or the manufacturer certificate (IDevID), installs
 * the certificate, and writes {@code agent.json}.
 */
@Command(name = "enroll", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Enroll this device: key, trust anchors from /cacerts, first certificate, agent.json.")
final class EnrollCommand implements Callable<Integer> {
  /** The least time between two attempts under --wait. */
  private static final Duration MIN_PAUSE = Duration.ofSeconds(1);

  @Spec
  CommandSpec spec;

  @Option(names = "--state", required = true, paramLabel = "DIR", description = "The agent's state directory (created, mode 0700).")
  Path state;

  @Option(names = "--server", required = true, paramLabel = "URL", description = "The EST server, https://host[:port].")
  URI server;

  @Option(names = "--gateway", paramLabel = "URL", description = "An EST gateway to fail over to; repeat for more, in order.")
  List<URI> gateways = new ArrayList<>();

  @Option(names = "--gateways-first", description = "Try the gateways before the server.")
  boolean gatewaysFirst;

  @Option(names = "--trust", required = true, paramLabel = "CAFILE",
      description = "PEM file of the CA(s) that authenticate the server for this first contact.")
  Path trust;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Credential credential;

  static final class Credential {
    @Option(names = "--token", paramLabel = "ID:TOKEN", description = "A one-time token from est-server token, with its device id.")
    String token;

    @ArgGroup(exclusive = false)
    Idevid idevid;
  }

  static final class Idevid {
    @Option(names = "--idevid", required = true, paramLabel = "CERT", description = "The manufacturer certificate (PEM, with its chain).")
    Path certificate;

    @Option(names = "--idevid-key", required = true, paramLabel = "KEY", description = "Its private key (PEM).")
    Path key;
  }

  @Option(names = "--subject", paramLabel = "CN", description = "The identity to enroll (default: the token's id, or "
      + "the IDevID's CN, else its first URI subjectAltName, else its serialNumber).")
  String subject;

  @Option(names = "--key-type", paramLabel = "TYPE", description = "ec-p256 (default), ec-p384, rsa-2048 or rsa-3072.")
  KeyAlgorithm keyType = KeyAlgorithm.EC_P256;

  @Option(names = "--label", paramLabel = "LABEL",
      description = "The EST label to enroll and renew under (default: none); a token must be made for it "
          + "(est-server token --label).")
  String label = "";

  @Option(names = "--pop-linking", description = "Always link CSRs to their TLS connection (RFC 7030 3.5; TLS 1.2). "
      + "Without it they are linked whenever the server's /csrattrs asks.")
  boolean popLinking;

  @Option(names = "--tls-provider", paramLabel = "SunJSSE|BCJSSE", converter = TlsProviderConverter.class,
      description = "The TLS of the agent's connections: SunJSSE (the JDK's, the default) or BCJSSE (Bouncy Castle's: "
          + "the hybrid post-quantum key exchange X25519MLKEM768 with a server that has it). Kept in agent.json; "
          + "without it, the one agent.json names already (--force, or enroll run again), else SunJSSE.")
  TlsProvider tlsProvider;

  @Option(names = "--force", description = "Enroll again although this state directory holds a certificate.")
  boolean force;

  @Option(names = "--wait", paramLabel = "DURATION", description = "Keep trying for up to DURATION (e.g. 10m) while the "
      + "request is pending (202) or fails for a reason that can pass (unreachable, busy), with the same CSR, backoff "
      + "and Retry-After as renewal-agent run; a refusal ends it at once, and not enrolled by then it exits 1. "
      + "Default: one attempt.")
  Duration wait = Duration.ZERO;

  @Option(names = "--verbose", description = "Log each step on stderr at INFO, as 'run' does (by default only "
      + "warnings about anything but the outcome, which is printed).")
  boolean verbose; // acted on by RenewalAgentCommand.configureLogging, from the arguments, before parsing

  /** {@code SunJSSE} or {@code BCJSSE}, as agent.json spells them. */
  static final class TlsProviderConverter implements CommandLine.ITypeConverter<TlsProvider> {
    @Override
    public TlsProvider convert(String value) {
      return TlsProvider.named(value).orElseThrow(
          () -> new CommandLine.TypeConversionException("'" + value + "' is neither SunJSSE nor BCJSSE"));
    }
  }

  /**
   * The TLS provider of the agent.json in the state directory already ({@code --force}, or an
   * enrollment resumed): a device moved to Bouncy Castle's TLS stays there. SunJSSE without one.
   * An agent.json that cannot be read as a whole (which {@code --force} replaces) still says
   * which: its {@code tls.provider} alone is read; if even that cannot be, the operator must.
   *
   * @throws ParameterException if agent.json says no provider that can be read
   */
  private TlsProvider previousTlsProvider() {
    Path file = state.resolve(StateDir.CONFIG);
    if (!Files.exists(file)) {
      return TlsProvider.SUN_JSSE;
    }
    try {
      return StateDir.open(state).readConfig().tls().provider();
    } catch (AgentException | RuntimeException unreadable) {
      return providerAlone(file).orElseThrow(() -> new ParameterException(spec.commandLine(),
          "the TLS provider this device used cannot be read (" + unreadable.getMessage()
              + "); give --tls-provider SunJSSE or BCJSSE"));
    }
  }

  /** {@code tls.provider} of {@code file}, whatever else in it is wrong; SunJSSE if it has none. */
  private static Optional<TlsProvider> providerAlone(Path file) {
    try {
      JsonElement root = Json.gson().fromJson(SmallFiles.readString(file, StandardCharsets.UTF_8), JsonElement.class);
      JsonElement tls = root != null && root.isJsonObject() ? root.getAsJsonObject().get("tls") : null;
      if (root == null || !root.isJsonObject() || tls != null && !tls.isJsonObject()) {
        return Optional.empty();
      }
      JsonElement provider = tls == null ? null : tls.getAsJsonObject().get("provider");
      if (provider == null) {
        return Optional.of(TlsProvider.SUN_JSSE);
      }
      return provider.isJsonPrimitive() && provider.getAsJsonPrimitive().isString()
          ? TlsProvider.named(provider.getAsString()) : Optional.empty();
    } catch (IOException | RuntimeException unreadable) {
      return Optional.empty();
    }
  }

  @Override
  public Integer call() throws Exception {
    List<X509Certificate> bootstrapTrust = readTrust();
    ClientAuth auth;
    String identity;
    AgentConfig.Idevid idevid = null;
    if (credential.token != null) {
      int colon = credential.token.indexOf(':');
      if (colon <= 0 || colon == credential.token.length() - 1) {
        throw new ParameterException(spec.commandLine(), "--token: expected ID:TOKEN, e.g. device-1:Xy3...");
      }
      identity = credential.token.substring(0, colon);
      if (subject != null && !subject.equals(identity)) {
        throw new ParameterException(spec.commandLine(), "--subject " + subject + " differs from the token's device id "
            + identity + "; the server issues only for the token's id");
      }
      auth = new ClientAuth.Token(identity, credential.token.substring(colon + 1));
    } else {
      idevid = new AgentConfig.Idevid(credential.idevid.certificate.toAbsolutePath(), credential.idevid.key.toAbsolutePath());
      ClientAuth.Certificate certificate = readIdevid(idevid);
      // The first name the IDevID carries: a CA looks for its CN, then its URI, and for its
      // serialNumber where set to (bootstrap.idevidIdentity); --subject for a CA set otherwise.
      try {
        identity = subject != null ? subject : DeviceIdentity.first(certificate.chain().get(0), DeviceIdentity.ANY)
            .orElseThrow(() -> new ParameterException(spec.commandLine(), "--idevid: the certificate has no CN, URI "
                + "subjectAltName or serialNumber to name the device by; give --subject"));
      } catch (IllegalArgumentException ambiguous) {
        throw new ParameterException(spec.commandLine(), "--idevid: the certificate does not name the device plainly: "
            + ambiguous.getMessage() + "; give --subject");
      }
      auth = certificate;
    }
    List<URI> endpoints = new ArrayList<>();
    if (!gatewaysFirst) {
      endpoints.add(server);
    }
    endpoints.addAll(gateways);
    if (gatewaysFirst) {
      endpoints.add(server);
    }
    AgentConfig config;
    try {
      // Without --tls-provider, the provider is the one agent.json names, read once this run is
      // known to enroll (enroll): a device already enrolled is told so first.
      config = new AgentConfig(identity, endpoints, label, keyType, null, null, null, null, null, null, idevid,
          popLinking, new AgentConfig.Tls(tlsProvider));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }

    StateDir dir = StateDir.create(state);
    try (org.estfleet.io.ProcessLock noDaemon = force ? dir.keepDaemonOut("enroll --force") : null) {
      return enroll(dir, config, auth, bootstrapTrust);
    }
  }

  private int enroll(StateDir dir, AgentConfig given, ClientAuth auth, List<X509Certificate> bootstrapTrust)
      throws Exception {
    AgentConfig config = given;
    X509Certificate before;
    StateSnapshot beforeForce = null;
    Renewer renewer;
    Renewer.Result result;
    long started = System.nanoTime();
    // Decided, written and first tried under one hold of the state lock: a renewal-agent run on
    // this directory never sees (or acts on, or writes over) the state between them.
    try (StateLock lock = dir.lock()) {
      java.util.Optional<CredentialStore.Credentials> current;
      try {
        current = dir.credentials().current();
      } catch (java.io.IOException unreadable) {
        // A damaged pair in force is what --force is for: it is replaced by this enrollment.
        if (!force) {
          throw AgentException.usage(state + " holds a certificate in force that cannot be read ("
              + unreadable.getMessage() + "); enroll again with --force");
        }
        current = java.util.Optional.empty();
      }
      if (current.isPresent() && !force) {
        throw AgentException.usage(state + " is already enrolled (" + Certificates.describe(current.get().certificate())
            + "); it renews on its own with renewal-agent run, or use --force to enroll again");
      }
      if (tlsProvider == null) {
        config = withTls(config, previousTlsProvider());
      }
      // The certificate in force before this run, if any (--force): not this run's result.
      before = current.map(CredentialStore.Credentials::certificate).orElse(null);
      // A first enrollment kept from an earlier run (its answer lost, a 503) is the same request
      // again when nothing about it changed: it goes again as it was, since with a new key the
      // server would find the token used. Any other kept request is dropped, with the failures
      // counted for it (their backoff is not this enrollment's).
      boolean resume = sameKeptRequest(dir, config, auth);
      if (force) {
        beforeForce = StateSnapshot.take(dir);
      }
      if (!resume) {
        if (force) {
          // The anchors are replaced by bootstrap(auth, true) from an authenticated /cacerts, not
          // emptied here: an empty version would stay in trust/history/ even when this fails.
          dir.trust().writeIntermediates(List.of());
          dir.writeState(AgentState.initial());
        }
        dir.pending().clear();
        dir.writeState(dir.readState().withPending(null).withFailures(0, null));
      }
      dir.writeConfig(config);
      dir.trust().writeBootstrap(bootstrapTrust);
      renewer = new Renewer(dir, config, Clock.systemUTC(), new SecureRandom(), BuildInfo.timestamp());
      try {
        result = resume ? renewer.resumeEnrollment() : renewer.bootstrap(auth, force);
      } catch (AgentException | RuntimeException e) {
        if (beforeForce != null && dir.readState().pending() == null && !installedSince(dir, before)) {
          restore(beforeForce, e);
        }
        throw e;
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    while (!wait.isZero() && mayPass(result, dir) && !enrolledMeanwhile(dir, before)) {
      Duration pause = Duration.between(Instant.now(), result.nextRunAt());
      pause = pause.compareTo(MIN_PAUSE) < 0 ? MIN_PAUSE : pause;
      Duration left = wait.minusNanos(System.nanoTime() - started);
      if (pause.compareTo(left) > 0) {
        break;
      }
      out.println(result.message());
      out.println("trying again in " + DurationText.format(pause.truncatedTo(ChronoUnit.SECONDS)) + " (--wait: "
          + DurationText.format(left.truncatedTo(ChronoUnit.SECONDS)) + " left)");
      out.flush();
      Thread.sleep(pause.toMillis() + 1);
      // Once a request was sent it goes again as it was; before that (no /cacerts yet) the
      // enrollment starts again.
      result = dir.readState().pending() != null ? renewer.resumeEnrollment() : renewer.bootstrap(auth, force);
    }
    if (result.outcome() != Renewer.Outcome.ENROLLED && enrolledMeanwhile(dir, before)) {
      // Enrolled meanwhile by renewal-agent run, which sent the kept request.
      out.println("enrolled: " + Certificates.describe(dir.credentials().current().orElseThrow().certificate()));
      return 0;
    }
    boolean kept = dir.readState().pending() != null;
    String keptNote = kept ? "; the request is kept: renewal-agent run --state " + state + " sends it again" : "";
    if (beforeForce != null && !kept && result.outcome() != Renewer.Outcome.ENROLLED
        && result.outcome() != Renewer.Outcome.RENEWED && !installedSince(dir, before)) {
      // Nothing sent that could still be answered, nothing installed: --force leaves the device
      // as it found it.
      AgentException failed = AgentException.failure(result.message());
      try (StateLock lock = dir.lock()) {
        restore(beforeForce, failed);
      }
      if (failed.getSuppressed().length > 0) {
        throw AgentException.failure(result.message() + "; putting back the settings, trust anchors and state from "
            + "before --force failed too: " + failed.getSuppressed()[0].getMessage(), failed);
      }
      throw AgentException.failure(result.message()
          + "; nothing changed: the settings, trust anchors and state from before --force are back");
    }
    String late = "not enrolled within --wait " + DurationText.format(wait)
        + (result.nextRunAt() == null ? "" : " (next attempt due at " + result.nextRunAt() + ")") + ": ";
    switch (result.outcome()) {
      case ENROLLED, RENEWED -> {
        out.println(result.message());
        out.println("next renewal due " + result.nextRunAt() + "; keep it renewing with: renewal-agent run --state " + state);
        return 0;
      }
      case PENDING, WAITING -> {
        if (!wait.isZero()) {
          throw AgentException.failure(late + result.message() + keptNote);
        }
        if (kept && dir.readState().pending().accepted()) {
          out.println(result.message());
          out.println("enrollment pending; renewal-agent run --state " + state + " completes it");
          return 0;
        }
        throw AgentException.failure(result.message() + keptNote);
      }
      default -> {
        boolean mayPass = mayPass(result, dir);
        throw AgentException.failure((mayPass && !wait.isZero() ? late : "") + result.message()
            + (mayPass ? keptNote : ""));
      }
    }
  }

  private static AgentConfig withTls(AgentConfig c, TlsProvider provider) {
    return new AgentConfig(c.identity(), c.endpoints(), c.label(), c.keyType(), c.reuseKey(), c.renewal(), c.retry(),
        c.timeouts(), c.trust(), c.postRenewHook(), c.idevid(), c.popLinking(), new AgentConfig.Tls(provider));
  }

  /** Puts the state from before --force back; a failure doing so is added to {@code failure}. */
  private static void restore(StateSnapshot snapshot, Exception failure) {
    try {
      snapshot.restore();
    } catch (java.io.IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /** As {@link #enrolledMeanwhile}, a pair in force that cannot be read counting as none installed. */
  private static boolean installedSince(StateDir dir, X509Certificate before) {
    try {
      return enrolledMeanwhile(dir, before);
    } catch (Exception unreadable) {
      return false;
    }
  }

  /** Whether a certificate other than {@code before} is in force now. */
  private static boolean enrolledMeanwhile(StateDir dir, X509Certificate before) throws Exception {
    var now = dir.credentials().current();
    return now.isPresent() && !now.get().certificate().equals(before);
  }

  /**
   * Whether the state holds a first enrollment's request kept by an earlier run for the same
   * identity, label, key type and credential (the same token, or an IDevID). A state or settings
   * file that cannot be read holds none: this run writes both afresh.
   */
  private static boolean sameKeptRequest(StateDir dir, AgentConfig config, ClientAuth auth) {
    try {
      AgentState.Pending pending = dir.readState().pending();
      if (pending == null || "certificate".equals(pending.credential())) {
        return false;
      }
      AgentConfig before = dir.readConfig();
      if (!before.identity().equals(config.identity()) || !before.label().equals(config.label())
          || before.keyType() != config.keyType()) {
        return false;
      }
      var request = dir.pending().load();
      if (request.isEmpty()) {
        return false;
      }
      return auth instanceof ClientAuth.Token token
          ? "token".equals(pending.credential()) && token.secret().equals(request.get().token())
          : "idevid".equals(pending.credential());
    } catch (AgentException | java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Whether the enrollment is still under way and another attempt may end it: pending (202), or
   * failed for a reason that can pass (not refused; a request that reached the server kept).
   */
  private static boolean mayPass(Renewer.Result result, StateDir dir) throws AgentException {
    if (result.nextRunAt() == null) {
      return false;
    }
    return switch (result.outcome()) {
      case PENDING, WAITING -> true;
      case FAILED -> {
        AgentState state = dir.readState();
        yield state.lastAttempt() != null && state.lastAttempt().outcome() == AgentState.Outcome.FAILED;
      }
      default -> false;
    };
  }

  private List<X509Certificate> readTrust() {
    try {
      return Pem.readCertificates(trust);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--trust: " + e.getMessage());
    }
  }

  private ClientAuth.Certificate readIdevid(AgentConfig.Idevid idevid) {
    try {
      List<X509Certificate> chain = Pem.readCertificates(idevid.certificate());
      PrivateKey key = Pem.readPrivateKey(idevid.key());
      if (!KeyPairs.matches(chain.get(0).getPublicKey(), key)) {
        throw new ParameterException(spec.commandLine(), "--idevid-key: " + idevid.key()
            + " is not the key of " + idevid.certificate());
      }
      return new ClientAuth.Certificate(key, chain);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--idevid: " + e.getMessage());
    }
  }
}
