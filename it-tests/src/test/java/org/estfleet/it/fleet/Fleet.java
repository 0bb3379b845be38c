package org.estfleet.it.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.estfleet.agent.Renewer;
import org.estfleet.agent.cli.RenewalAgentCommand;
import org.estfleet.agent.schedule.AgentScheduler;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.StateDir;
import org.estfleet.json.JsonFiles;
import org.estfleet.pki.CertificatePath;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuanceRecord;
import org.estfleet.server.store.IssuedCertificates;

/**
 * The fleet harness: real agents (the agent's own code, each with its own state directory), many
 * in this JVM on one Quartz scheduler, enrolled and renewed against real servers over TLS on
 * 127.0.0.1; and the checks every scenario ends with.
 */
public final class Fleet implements AutoCloseable {
  /** Agents retry within seconds here, as a test needs; the defaults are 30s doubling to 6h. */
  private static final String AGENT_SETTINGS =
      "{\"retry\": {\"initial\": \"1s\", \"max\": \"4s\"}, \"timeouts\": {\"connect\": \"2s\", \"read\": \"15s\"}}";

  /** One device: its id, state directory, and the endpoint it enrolled through. */
  public record Device(String id, Path state, String via) {}

  private final Path dir;
  private final List<Device> devices = Collections.synchronizedList(new ArrayList<>());
  private volatile AgentScheduler scheduler;

  public Fleet(Path dir) {
    this.dir = dir;
  }

  public List<Device> devices() {
    return List.copyOf(devices);
  }

  /** Takes in a device whose agent runs elsewhere (in a container), for {@link #verify} and the report. */
  public void adopt(Device device) {
    devices.add(device);
  }

  /**
   * Enrolls {@code tokens.size()} devices through {@code endpoint} with the agent's {@code enroll}
   * command, {@code parallelism} at a time.
   */
  List<Device> enroll(Map<String, String> tokens, URI endpoint, String via, Path trust, int parallelism)
      throws Exception {
    ExecutorService executor = Executors.newFixedThreadPool(parallelism);
    try {
      List<Future<Device>> enrolled = new ArrayList<>();
      for (Map.Entry<String, String> token : tokens.entrySet()) {
        enrolled.add(executor.submit(() -> enrollOne(token.getKey(), token.getValue(), endpoint, via, trust)));
      }
      List<Device> result = new ArrayList<>();
      for (Future<Device> device : enrolled) {
        result.add(device.get());
      }
      devices.addAll(result);
      return result;
    } finally {
      executor.shutdownNow();
    }
  }

  private Device enrollOne(String id, String token, URI endpoint, String via, Path trust) throws Exception {
    Device device = enrollQuietly(id, token, endpoint, via, trust);
    AgentScheduler running = scheduler;
    if (running != null) {
      // Agents start as they enroll, as devices in the field do: none waits for the fleet.
      running.add(id, Renewer.open(StateDir.open(device.state()), Clock.systemUTC(), new SecureRandom()));
    }
    return device;
  }

  private Device enrollQuietly(String id, String token, URI endpoint, String via, Path trust) throws Exception {
    Path state = dir.resolve("agents").resolve(id);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = RenewalAgentCommand.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(
        "enroll", "--state", state.toString(), "--server", endpoint.toString(), "--trust", trust.toString(),
        "--token", id + ":" + token);
    if (exit != 0) {
      throw new AssertionError("enroll " + id + " failed (" + exit + "): " + err + out);
    }
    JsonFiles.patch(state.resolve(StateDir.CONFIG), AGENT_SETTINGS);
    return new Device(id, state, via);
  }

  /**
   * Starts every enrolled agent on one Quartz scheduler, as {@code renewal-agent run} would each;
   * devices enrolled from now on start as soon as they are enrolled.
   */
  public void startAgents(int threads) throws Exception {
    AgentScheduler started = new AgentScheduler(threads, Clock.systemUTC(), new SecureRandom());
    for (Device device : devices()) {
      started.add(device.id(), Renewer.open(StateDir.open(device.state()), Clock.systemUTC(), new SecureRandom()));
    }
    scheduler = started;
  }

  /** Takes these devices offline: their agents stop (their state stays as it is). */
  public void stop(List<Device> offline) throws Exception {
    for (Device device : offline) {
      scheduler.remove(device.id());
    }
  }

  /** Starts the agents of devices that were enrolled while the scheduler was not running them (offline). */
  public void start(List<Device> offline) throws Exception {
    for (Device device : offline) {
      scheduler.add(device.id(), Renewer.open(StateDir.open(device.state()), Clock.systemUTC(), new SecureRandom()));
    }
  }

  /**
   * Stops the scheduler (attempts in progress complete), then completes the requests agents were
   * stopped in the middle of (a renewal that got 503 or no answer yet keeps its CSR for the next
   * try): each is sent once more, from what the agent stored, and must end with a certificate.
   *
   * @return how many requests were completed so
   */
  public int stopAgents() throws Exception {
    if (scheduler != null) {
      scheduler.close();
      scheduler = null;
    }
    int completed = 0;
    for (Device device : devices()) {
      StateDir state = StateDir.open(device.state());
      if (state.readState().pending() != null) {
        Renewer.Result result = Renewer.open(state, Clock.systemUTC(), new SecureRandom()).renew(true);
        assertTrue(result.outcome() == Renewer.Outcome.RENEWED || result.outcome() == Renewer.Outcome.ENROLLED,
            device.id() + ": its pending request did not complete: " + result);
        completed++;
      }
    }
    return completed;
  }

  /** The CA's ledger, read through a connection of its own (the CA may be running). */
  public static List<IssuanceRecord> ledger(Path caData) {
    try (Database database = Database.open(caData.resolve("estfleet.db"))) {
      return new IssuedCertificates(database).all();
    }
  }

  /** The ledger's device records, by device id. */
  public static Map<String, List<IssuanceRecord>> byDevice(Path caData) {
    Map<String, List<IssuanceRecord>> byDevice = new HashMap<>();
    for (IssuanceRecord record : ledger(caData)) {
      byDevice.computeIfAbsent(record.deviceId(), id -> new ArrayList<>()).add(record);
    }
    return byDevice;
  }

  /** The least number of certificates any device of the fleet was issued. */
  public int fewestCertificates(Path caData) {
    Map<String, List<IssuanceRecord>> byDevice = byDevice(caData);
    return devices().stream().mapToInt(d -> byDevice.getOrDefault(d.id(), List.of()).size()).min().orElse(0);
  }

  /** How many devices hold a certificate issued at or after {@code since}. */
  public int renewedSince(Instant since) {
    int renewed = 0;
    for (Device device : devices()) {
      X509Certificate current = Pem.readCertificates(device.state().resolve("cert.pem")).get(0);
      if (!current.getNotBefore().toInstant().isBefore(since.minusSeconds(1))) {
        renewed++;
      }
    }
    return renewed;
  }

  /**
   * What every scenario ends with: every device holds a valid certificate for its own identity,
   * issued by the CA and recorded in its ledger; no key was certified twice (so no request was
   * issued twice); no agent has a request pending; every agent's state reads back.
   */
  public void verify(Path caData, X509Certificate root, X509Certificate issuing) throws Exception {
    Instant now = Instant.now();
    Map<String, IssuanceRecord> bySerial = new HashMap<>();
    Set<String> keys = new HashSet<>();
    for (IssuanceRecord record : ledger(caData)) {
      bySerial.put(record.serial(), record);
      assertTrue(keys.add(record.publicKeySha256()), "one key certified twice: " + record.deviceId()
          + " serial " + record.serial());
    }
    for (Device device : devices()) {
      StateDir state = StateDir.open(device.state());
      state.readConfig();
      AgentState agent = state.readState();
      assertNull(agent.pending(), device.id() + " still has a pending request: " + agent.pending());
      X509Certificate certificate = Pem.readCertificates(device.state().resolve("cert.pem")).get(0);
      PrivateKey key = Pem.readPrivateKey(device.state().resolve("key.pem"));
      assertTrue(KeyPairs.matches(certificate.getPublicKey(), key), device.id() + ": key and certificate differ");
      assertEquals("CN=" + device.id(), certificate.getSubjectX500Principal().getName());
      CertificatePath.validate(certificate, List.of(issuing), List.of(root), now);
      IssuanceRecord record = bySerial.get(Certificates.serialHex(certificate));
      assertTrue(record != null && record.deviceId().equals(device.id()),
          device.id() + ": its certificate " + Certificates.serialHex(certificate) + " is not in the ledger");
    }
  }

  /** The agents' attempts that ended without a certificate, summed over the fleet. */
  public long retries() throws Exception {
    long retries = 0;
    for (Device device : devices()) {
      retries += StateDir.open(device.state()).readState().retries();
    }
    return retries;
  }

  /**
   * The longest time any device of the fleet went without a valid certificate, by the ledger's
   * validity periods (the gaps between one certificate's end and the next one's start, and the
   * time since the last one ended).
   */
  public Duration longestWithoutCertificate(Path caData) {
    Map<String, List<IssuanceRecord>> byDevice = byDevice(caData);
    Instant now = Instant.now();
    Duration longest = Duration.ZERO;
    for (Device device : devices()) {
      List<IssuanceRecord> records = new ArrayList<>(byDevice.getOrDefault(device.id(), List.of()));
      records.sort((a, b) -> a.notBefore().compareTo(b.notBefore()));
      Instant coveredUntil = null;
      for (IssuanceRecord record : records) {
        if (coveredUntil != null && record.notBefore().isAfter(coveredUntil)) {
          Duration gap = Duration.between(coveredUntil, record.notBefore());
          longest = gap.compareTo(longest) > 0 ? gap : longest;
        }
        coveredUntil = coveredUntil == null || record.notAfter().isAfter(coveredUntil) ? record.notAfter() : coveredUntil;
      }
      if (coveredUntil != null && coveredUntil.isBefore(now)) {
        Duration gap = Duration.between(coveredUntil, now);
        longest = gap.compareTo(longest) > 0 ? gap : longest;
      }
    }
    return longest;
  }

  public static List<String> ids(String prefix, int count) {
    return IntStream.range(0, count).mapToObj(i -> String.format("%s-%04d", prefix, i)).toList();
  }

  @Override
  public void close() throws Exception {
    if (scheduler != null) {
      scheduler.close();
      scheduler = null;
    }
  }
}
