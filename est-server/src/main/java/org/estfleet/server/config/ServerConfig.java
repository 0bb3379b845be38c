package org.estfleet.server.config;

import com.google.gson.annotations.SerializedName;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.estfleet.est.EstPath;
import org.estfleet.json.DurationText;
import org.estfleet.pki.DeviceIdentity;
import org.estfleet.tls.KeyExchangeGroups;
import org.estfleet.tls.TlsProvider;

/**
 * Everything in {@code server.json}. Each record fills in its defaults for keys that are absent,
 * and {@code est-server init} writes them all out, so the file always shows what is in force.
 * Relative paths are resolved against the data directory.
 *
 * @param mode {@code ca}: issue from this server's own CA; {@code gateway}: forward to an upstream
 *     EST server, storing requests while it cannot be reached
 * @param bindAddress the address to listen on; {@code 0.0.0.0} for every interface
 * @param port the TLS port; 0 picks a free one
 * @param ca the CA's files (CA mode only)
 * @param defaultProfile the profile of requests without a label (CA mode; on a gateway, null unless given,
 *     and unused: the upstream applies its profiles)
 * @param labels the profiles of labelled requests ({@code /.well-known/est/<label>/...}) (CA mode; on a
 *     gateway, null or empty)
 * @param gatewayProfile the profile of the certificates of gateways this CA enrolls (CA mode only)
 * @param gateway the upstream and the store-and-forward settings (gateway mode only)
 * @param monitoring where {@code /health} and {@code /metrics} are served
 */
public record ServerConfig(
    Mode mode,
    String bindAddress,
    Integer port,
    TlsConfig tls,
    CaConfig ca,
    DatabaseConfig database,
    BootstrapConfig bootstrap,
    ReenrollConfig reenroll,
    LimitsConfig limits,
    ProfileConfig defaultProfile,
    Map<String, ProfileConfig> labels,
    ProfileConfig gatewayProfile,
    GatewayConfig gateway,
    MonitoringConfig monitoring) {

  public static final int DEFAULT_PORT = 8443;

  /** What the server does with enrollments. */
  public enum Mode {
    @SerializedName("ca") CA,
    @SerializedName("gateway") GATEWAY
  }

  public ServerConfig {
    mode = mode == null ? Mode.CA : mode;
    // A gateway has no profiles of its own (the upstream applies its own): nothing is filled in
    // for it, so that init --gateway does not write sections it would not use.
    labels = labels == null ? (mode == Mode.CA ? Map.of() : null) : new TreeMap<>(labels);
    if (mode == Mode.CA) {
      if (gateway != null) {
        throw new IllegalArgumentException("'gateway' settings are for mode \"gateway\"; this server's mode is \"ca\"");
      }
      ca = ca == null ? new CaConfig(null, null, null, null, null) : ca;
      gatewayProfile = gatewayProfile == null ? ProfileConfig.gatewayDefaults() : gatewayProfile;
      if (!gatewayProfile.maySign()) {
        // Agents and BCJSSE refuse a TLS server whose key may not sign (RFC 8446 section 4.4.2.2).
        throw new IllegalArgumentException("gatewayProfile.keyUsage lacks \"digitalSignature\": a gateway's "
            + "certificate signs its TLS handshakes, with devices and with this CA; add it");
      }
    } else {
      if (gateway == null) {
        throw new IllegalArgumentException("mode \"gateway\" needs 'gateway' settings with the upstream's URL");
      }
      gateway.upstreamUri();
      if (ca != null || gatewayProfile != null) {
        throw new IllegalArgumentException("'ca' and 'gatewayProfile' are for mode \"ca\"; a gateway has no CA");
      }
      if (bootstrap != null && bootstrap.idevidLabels() != null) {
        throw new IllegalArgumentException("bootstrap.idevidLabels is the CA's: it judges the IDevIDs a gateway "
            + "forwards; set it there");
      }
      if (labels != null && !labels.isEmpty()) {
        throw new IllegalArgumentException("a gateway serves the upstream's labels (gateway.labels), not 'labels'");
      }
    }
    bindAddress = bindAddress == null ? "127.0.0.1" : bindAddress;
    if (bindAddress.isBlank()) {
      throw new IllegalArgumentException("bindAddress is empty: an address such as 127.0.0.1, or 0.0.0.0 for all "
          + "interfaces");
    }
    port = port == null ? DEFAULT_PORT : port;
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is not between 0 and 65535");
    }
    tls = tls == null ? new TlsConfig(null, null, null, null, null) : tls;
    database = database == null ? new DatabaseConfig(null) : database;
    bootstrap = bootstrap == null ? new BootstrapConfig(null, null, null, null) : bootstrap;
    reenroll = reenroll == null ? new ReenrollConfig(null, null) : reenroll;
    limits = limits == null ? new LimitsConfig(null, null, null, null, null, null, null, null, null, null) : limits;
    monitoring = monitoring == null ? new MonitoringConfig(null, null, null) : monitoring;
    if (monitoring.port() != null && monitoring.port() != 0 && monitoring.port().equals(port)) {
      throw new IllegalArgumentException("monitoring.port " + port + " is the TLS port ('port'): give the monitoring "
          + "listener a port of its own, or leave monitoring.port out to serve /health and /metrics on the TLS port");
    }
    if (mode == Mode.CA) {
      defaultProfile = defaultProfile == null ? ProfileConfig.defaults() : defaultProfile;
      checkProfiles(defaultProfile, labels, tls);
      if (bootstrap.idevidLabels() != null) {
        for (String label : bootstrap.idevidLabels()) {
          if (!label.isEmpty() && !labels.containsKey(label)) {
            throw new IllegalArgumentException("bootstrap.idevidLabels names '" + label + "', which is not one of "
                + "'labels' (\"\" is requests without a label)");
          }
        }
      }
    }
  }

  /** Each label named as EST allows and given a profile; PoP linking only where TLS can bind it. */
  private static void checkProfiles(ProfileConfig defaultProfile, Map<String, ProfileConfig> labels, TlsConfig tls) {
    for (Map.Entry<String, ProfileConfig> label : labels.entrySet()) {
      EstPath.checkLabel(label.getKey());
      if (label.getValue() == null) {
        throw new IllegalArgumentException("label '" + label.getKey() + "' has no profile");
      }
    }
    Map<String, ProfileConfig> profiles = new TreeMap<>(labels);
    profiles.put("", defaultProfile);
    for (Map.Entry<String, ProfileConfig> entry : profiles.entrySet()) {
      if (!entry.getValue().requiresLinking()) {
        continue;
      }
      String which = entry.getKey().isEmpty() ? "defaultProfile" : "label '" + entry.getKey() + "'";
      if (tls.provider() != TlsProvider.BCJSSE) {
        throw new IllegalArgumentException(which
            + " requires PoP linking, which needs tls.provider \"BCJSSE\" (SunJSSE exposes no channel binding)");
      }
      if (!tls.protocols().contains("TLSv1.2")) {
        // Linking is checked with tls-unique, which TLS 1.3 does not have: no client could enroll.
        throw new IllegalArgumentException(which + " requires PoP linking, which works on TLS 1.2 connections only "
            + "(tls-unique), and tls.protocols is " + tls.protocols() + ": add \"TLSv1.2\"");
      }
    }
  }

  /**
   * The profiles (of a CA) whose certificates' keys may not sign, named as the configuration
   * names them ({@code defaultProfile}, {@code labels.NAME}): TLS client authentication signs,
   * so their devices cannot re-enroll with those certificates (Bouncy Castle's TLS fails the
   * handshake; on the JDK's the Authenticator refuses it, 401), only enroll again with a token
   * or IDevID.
   */
  public List<String> profilesWhoseKeysCannotSign() {
    if (mode != Mode.CA) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    if (!defaultProfile.maySign()) {
      names.add("defaultProfile");
    }
    for (Map.Entry<String, ProfileConfig> label : labels.entrySet()) {
      if (!label.getValue().maySign()) {
        names.add("labels." + label.getKey());
      }
    }
    return names;
  }

  /** The configuration {@code init} writes: every default. */
  public static ServerConfig defaults() {
    return new ServerConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null);
  }

  /** The configuration {@code init --gateway} writes: every default, and the upstream. */
  public static ServerConfig gatewayDefaults(GatewayConfig gateway) {
    return new ServerConfig(Mode.GATEWAY, null, null, null, null, null, null, null, null, null, null, null, gateway,
        null);
  }

  /** The same configuration with another default profile. */
  public ServerConfig withDefaultProfile(ProfileConfig profile) {
    return new ServerConfig(mode, bindAddress, port, tls, ca, database, bootstrap, reenroll, limits, profile, labels,
        gatewayProfile, gateway, monitoring);
  }

  /** The same configuration listening on another port. */
  public ServerConfig withPort(int newPort) {
    return withPorts(newPort, null);
  }

  /**
   * The same configuration with the TLS port and the monitoring listener's port replaced where
   * given (null: as configured), checked together: {@code serve --port A --monitoring-port B}
   * is judged as the pair it makes, not against the file's other port.
   */
  public ServerConfig withPorts(Integer newPort, Integer newMonitoringPort) {
    return new ServerConfig(mode, bindAddress, newPort == null ? port : newPort, tls, ca, database, bootstrap, reenroll,
        limits, defaultProfile, labels, gatewayProfile, gateway, newMonitoringPort == null ? monitoring
            : new MonitoringConfig(monitoring.enabled(), monitoring.bindAddress(), newMonitoringPort));
  }

  /**
   * The server's TLS identity, protocols and implementation.
   *
   * @param provider {@code BCJSSE} (Bouncy Castle's, the default: cheaper handshakes, and the
   *     channel bindings PoP linking needs) or {@code SunJSSE} (the JDK's)
   * @param namedGroups the key exchange groups accepted, most preferred first, by standard name
   *     (read in any case); null for the provider's default
   */
  public record TlsConfig(Path certificate, Path key, List<String> protocols, TlsProvider provider,
      List<String> namedGroups) {
    public TlsConfig {
      provider = provider == null ? TlsProvider.BCJSSE : provider;
      certificate = certificate == null ? Path.of("tls/server.pem") : certificate;
      key = key == null ? Path.of("tls/server.key") : key;
      protocols = protocols == null ? List.of("TLSv1.3", "TLSv1.2") : List.copyOf(protocols);
      for (String protocol : protocols) {
        if (!protocol.equals("TLSv1.3") && !protocol.equals("TLSv1.2")) {
          throw new IllegalArgumentException(
              "tls.protocols: '" + protocol + "' is not supported; use TLSv1.3 and/or TLSv1.2");
        }
      }
      if (protocols.isEmpty()) {
        throw new IllegalArgumentException("tls.protocols is empty; use TLSv1.3 and/or TLSv1.2");
      }
      if (new java.util.HashSet<>(protocols).size() < protocols.size()) {
        throw new IllegalArgumentException("tls.protocols names a protocol twice: " + protocols);
      }
      if (namedGroups != null) {
        namedGroups = checkGroups(namedGroups, protocols);
      }
    }

    /** The standard names of {@code groups}, each protocol able to use one of them. */
    private static List<String> checkGroups(List<String> groups, List<String> protocols) {
      if (groups.isEmpty()) {
        throw new IllegalArgumentException("tls.namedGroups is empty; name the key exchange groups to accept "
            + "(e.g. [\"X25519MLKEM768\", \"x25519\", \"secp256r1\"]), or leave the key out for the TLS provider's "
            + "default");
      }
      String[] names;
      try {
        names = KeyExchangeGroups.standardNames(groups);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("tls.namedGroups: " + e.getMessage(), e);
      }
      for (String protocol : protocols) {
        boolean tls13 = protocol.equals("TLSv1.3");
        if (!KeyExchangeGroups.anyIn(names, tls13)) {
          throw new IllegalArgumentException("tls.namedGroups: none of " + String.join(", ", names)
              + " can be used in TLS " + (tls13 ? "1.3" : "1.2") + ", which tls.protocols enables; add one that can "
              + "(x25519, secp256r1)"
              + (protocols.size() > 1 ? " or take \"" + protocol + "\" out of tls.protocols" : ""));
        }
      }
      return List.of(names);
    }
  }

  /**
   * The CA's certificates and keys (PEM).
   *
   * @param checkInterval how often a running CA looks for a rollover or retire-root to take up
   */
  public record CaConfig(Path rootCertificate, Path rootKey, Path issuingCertificate, Path issuingKey,
      Duration checkInterval) {
    public CaConfig {
      rootCertificate = rootCertificate == null ? Path.of("ca/root.pem") : rootCertificate;
      rootKey = rootKey == null ? Path.of("ca/root.key") : rootKey;
      issuingCertificate = issuingCertificate == null ? Path.of("ca/issuing.pem") : issuingCertificate;
      issuingKey = issuingKey == null ? Path.of("ca/issuing.key") : issuingKey;
      checkInterval = checkInterval == null ? Duration.ofSeconds(10) : checkInterval;
      if (checkInterval.isNegative() || checkInterval.isZero()) {
        throw new IllegalArgumentException("ca.checkInterval must be positive");
      }
    }
  }

  /** The embedded SQLite database file. */
  public record DatabaseConfig(Path file) {
    public DatabaseConfig {
      file = file == null ? Path.of("estfleet.db") : file;
      if (file.toString().isBlank()) {
        throw new IllegalArgumentException("database.file is empty; name the database file (default estfleet.db)");
      }
    }
  }

  /**
   * First enrollment.
   *
   * @param tokenTtl how long a one-time token from {@code est-server token} stays usable
   * @param manufacturerCas PEM files of the manufacturer (IDevID) CAs whose device certificates
   *     may enroll; remove a factory's CA to stop its devices from bootstrapping
   * @param idevidLabels the EST labels ({@code ""}: requests without one) under which those
   *     certificates enroll; null (the default) for any
   * @param idevidIdentity where an IDevID names its device: the first of these sources it
   *     carries (default: CN, URI subjectAltName)
   */
  /** The longest a token may stay usable: a token is a credential, not a device's lasting identity. */
  public static final Duration MAX_TOKEN_TTL = Duration.ofDays(3650);

  /** What is wrong with a token lifetime ("is not between 1s and 3650d"), or empty if nothing. */
  public static Optional<String> tokenTtlProblem(Duration ttl) {
    return ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(MAX_TOKEN_TTL) > 0
        ? Optional.of(DurationText.format(ttl) + " is not between 1s and " + DurationText.format(MAX_TOKEN_TTL))
        : Optional.empty();
  }

  public record BootstrapConfig(Duration tokenTtl, List<Path> manufacturerCas, Set<String> idevidLabels,
      List<DeviceIdentity> idevidIdentity) {
    public BootstrapConfig {
      tokenTtl = tokenTtl == null ? Duration.ofDays(7) : tokenTtl;
      Optional<String> outside = tokenTtlProblem(tokenTtl);
      if (outside.isPresent()) {
        throw new IllegalArgumentException("bootstrap.tokenTtl " + outside.get());
      }
      manufacturerCas = manufacturerCas == null ? List.of() : List.copyOf(manufacturerCas);
      if (new java.util.HashSet<>(manufacturerCas).size() < manufacturerCas.size()) {
        throw new IllegalArgumentException("bootstrap.manufacturerCas names a file twice: " + manufacturerCas);
      }
      if (idevidLabels != null) {
        if (idevidLabels.contains(null)) {
          throw new IllegalArgumentException("bootstrap.idevidLabels holds null; name labels, \"\" for requests "
              + "without one");
        }
        if (idevidLabels.isEmpty()) {
          throw new IllegalArgumentException("bootstrap.idevidLabels is empty: no IDevID could enroll; leave it out "
              + "for any label, or name the labels (\"\" for requests without one)");
        }
        idevidLabels = Set.copyOf(idevidLabels);
      }
      if (idevidIdentity == null) {
        idevidIdentity = DeviceIdentity.DEFAULT_ORDER;
      } else if (idevidIdentity.isEmpty()) {
        throw new IllegalArgumentException("bootstrap.idevidIdentity is empty: no IDevID could name its device; leave "
            + "it out for [\"cn\", \"uri\"], or list where to look, from \"cn\", \"uri\" and \"serialNumber\"");
      } else if (idevidIdentity.contains(null)) {
        throw new IllegalArgumentException("bootstrap.idevidIdentity holds null; list \"cn\", \"uri\" or "
            + "\"serialNumber\"");
      } else if (Set.copyOf(idevidIdentity).size() != idevidIdentity.size()) {
        throw new IllegalArgumentException("bootstrap.idevidIdentity names a source twice: "
            + idevidIdentity.stream().map(source -> "\"" + source.setting() + "\"").toList()
            + "; name each once, in the order they are looked for");
      } else {
        idevidIdentity = List.copyOf(idevidIdentity);
      }
    }
  }

  /**
   * Re-enrollment (RFC 7030 section 4.2.2).
   *
   * @param gracePeriod how long after its expiry a certificate still authenticates a
   *     re-enrollment; 0 (the default) accepts only currently valid certificates
   * @param gatewayHoldLimit a request a gateway held through an outage is judged by the device
   *     certificate's validity when the gateway accepted it, if that was at most this long ago
   */
  public record ReenrollConfig(Duration gracePeriod, Duration gatewayHoldLimit) {
    public ReenrollConfig {
      gracePeriod = gracePeriod == null ? Duration.ZERO : gracePeriod;
      gatewayHoldLimit = gatewayHoldLimit == null ? Duration.ofDays(7) : gatewayHoldLimit;
    }
  }

  /**
   * Request limits.
   *
   * @param maxConcurrentRequests requests served at once; one more gets 503 at once
   * @param busyRetryAfter the {@code Retry-After} of that 503
   * @param maxHeaderBytes the largest request line and headers; larger ones get 431
   * @param idleTimeout how long a connection may stay silent (a slow client cannot hold it)
   * @param authFailuresPerMinute failed authentications per minute for one identity before further
   *     attempts for it get 429
   * @param sourceAuthFailuresPerMinute the same per source address (devices behind NAT share one)
   * @param enrollmentsPerIdentityPerHour certificates issued to one identity per hour before
   *     further requests for it get 429
   * @param enrollmentsPerSourcePerMinute enrollment requests per minute from one source address
   *     (forwarded requests count per identity only) before further ones get 429
   * @param requestTimeout how long a client may take to send a whole request body; a slower one
   *     gets 408 and its connection is closed
   */
  public record LimitsConfig(Integer maxRequestBytes, Integer maxConcurrentRequests, Duration busyRetryAfter,
      Integer maxHeaderBytes, Duration idleTimeout, Integer authFailuresPerMinute, Integer sourceAuthFailuresPerMinute,
      Integer enrollmentsPerIdentityPerHour, Integer enrollmentsPerSourcePerMinute, Duration requestTimeout,
      Integer maxConnections) {
    public LimitsConfig(Integer maxRequestBytes, Integer maxConcurrentRequests, Duration busyRetryAfter,
        Integer maxHeaderBytes, Duration idleTimeout, Integer authFailuresPerMinute, Integer sourceAuthFailuresPerMinute,
        Integer enrollmentsPerIdentityPerHour, Integer enrollmentsPerSourcePerMinute, Duration requestTimeout) {
      this(maxRequestBytes, maxConcurrentRequests, busyRetryAfter, maxHeaderBytes, idleTimeout, authFailuresPerMinute,
          sourceAuthFailuresPerMinute, enrollmentsPerIdentityPerHour, enrollmentsPerSourcePerMinute, requestTimeout,
          null);
    }

    public LimitsConfig {
      maxRequestBytes = maxRequestBytes == null ? 64 * 1024 : maxRequestBytes;
      if (maxRequestBytes < 1024 || maxRequestBytes > 16 * 1024 * 1024) {
        throw new IllegalArgumentException(
            "limits.maxRequestBytes " + maxRequestBytes + " is not between 1024 and 16777216");
      }
      maxConcurrentRequests = maxConcurrentRequests == null ? 64 : maxConcurrentRequests;
      if (maxConcurrentRequests < 1 || maxConcurrentRequests > 10_000) {
        throw new IllegalArgumentException(
            "limits.maxConcurrentRequests " + maxConcurrentRequests + " is not between 1 and 10000");
      }
      busyRetryAfter = busyRetryAfter == null ? Duration.ofSeconds(10) : busyRetryAfter;
      if (busyRetryAfter.isNegative() || busyRetryAfter.isZero()) {
        throw new IllegalArgumentException("limits.busyRetryAfter must be positive");
      }
      maxHeaderBytes = maxHeaderBytes == null ? 8192 : maxHeaderBytes;
      if (maxHeaderBytes < 1024 || maxHeaderBytes > 65536) {
        throw new IllegalArgumentException("limits.maxHeaderBytes " + maxHeaderBytes + " is not between 1024 and 65536");
      }
      idleTimeout = idleTimeout == null ? Duration.ofSeconds(30) : idleTimeout;
      if (idleTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("limits.idleTimeout must be at least 1s");
      }
      authFailuresPerMinute = authFailuresPerMinute == null ? 10 : authFailuresPerMinute;
      if (authFailuresPerMinute < 1) {
        throw new IllegalArgumentException("limits.authFailuresPerMinute must be at least 1");
      }
      sourceAuthFailuresPerMinute = sourceAuthFailuresPerMinute == null ? 100 : sourceAuthFailuresPerMinute;
      if (sourceAuthFailuresPerMinute < 1) {
        throw new IllegalArgumentException("limits.sourceAuthFailuresPerMinute must be at least 1");
      }
      enrollmentsPerIdentityPerHour = enrollmentsPerIdentityPerHour == null ? 60 : enrollmentsPerIdentityPerHour;
      if (enrollmentsPerIdentityPerHour < 1) {
        throw new IllegalArgumentException("limits.enrollmentsPerIdentityPerHour must be at least 1");
      }
      enrollmentsPerSourcePerMinute = enrollmentsPerSourcePerMinute == null ? 3000 : enrollmentsPerSourcePerMinute;
      if (enrollmentsPerSourcePerMinute < 1) {
        throw new IllegalArgumentException("limits.enrollmentsPerSourcePerMinute must be at least 1");
      }
      maxConnections = maxConnections == null ? 64 : maxConnections;
      if (maxConnections < 1 || maxConnections > 100_000) {
        throw new IllegalArgumentException("limits.maxConnections " + maxConnections + " is not between 1 and 100000");
      }
      requestTimeout = requestTimeout == null ? Duration.ofSeconds(20) : requestTimeout;
      if (requestTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("limits.requestTimeout must be at least 1s");
      }
    }
  }

  /**
   * Where {@code /health} and {@code /metrics} are served.
   *
   * @param enabled false: neither is served, on any port (404)
   * @param bindAddress the address of their own listener, when {@code port} is set
   * @param port null: both are served on the TLS port, beside EST; a port: on a plain-HTTP listener of
   *     their own at {@code bindAddress}, and not on the TLS port (0 picks a free port)
   */
  public record MonitoringConfig(Boolean enabled, String bindAddress, Integer port) {
    public MonitoringConfig {
      enabled = enabled == null || enabled;
      bindAddress = bindAddress == null ? "127.0.0.1" : bindAddress;
      if (bindAddress.isBlank()) {
        throw new IllegalArgumentException("monitoring.bindAddress is empty: an address such as 127.0.0.1");
      }
      if (port != null && (port < 0 || port > 65535)) {
        throw new IllegalArgumentException("monitoring.port " + port + " is not between 0 and 65535");
      }
      if (!enabled && port != null) {
        throw new IllegalArgumentException("monitoring.port is set and monitoring.enabled is false: "
            + "leave the port out to serve neither /health nor /metrics, or enable them");
      }
    }

    /** Whether {@code /health} and {@code /metrics} have a listener of their own. */
    public boolean ownListener() {
      return enabled && port != null;
    }
  }
}
