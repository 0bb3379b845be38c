package org.estfleet.it.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ContainerNetwork;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.estfleet.agent.store.StateDir;
import org.estfleet.it.fleet.Fleet;
import org.estfleet.it.fleet.FleetReport;
import org.estfleet.json.JsonFiles;
import org.estfleet.pki.Pem;
import org.estfleet.server.auth.BootstrapTokens;
import org.estfleet.server.cli.EstServerCommand;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.PendingEnrollments;
import org.estfleet.server.store.Role;
import org.estfleet.server.store.TokenRecords;
import org.estfleet.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The fleet as separate hosts: a CA container, two gateway containers and agent containers (each
 * running several agents in one {@code renewal-agent run}, half of them behind each gateway) on
 * an internal Docker network with no way out. The CA is cut off from the network (disconnected)
 * until both gateways hold renewals, one gateway container is restarted meanwhile, the CA is
 * connected again, and every device renews. Data directories are bind mounts, so the test reads the ledger, the gateway's queue
 * and the agents' state from the host.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerFleetTest {
  private static final int AGENT_CONTAINERS = 4;
  private static final int AGENTS_PER_CONTAINER = 3;
  private static final Duration START = Duration.ofSeconds(90);
  private static final List<String> GATEWAYS = List.of("gateway-1", "gateway-2");

  @TempDir
  Path dir;

  private final List<GenericContainer<?>> containers = new ArrayList<>();
  private Network network;

  @AfterEach
  void stop() {
    for (GenericContainer<?> container : containers) {
      container.stop();
    }
    if (network != null) {
      network.close();
    }
  }

  @Test
  void fleetInContainers_caCutOffAndGatewayRestarted_everyDeviceRenews() throws Exception {
    Instant start = Instant.now();
    network = Network.builder().createNetworkCmdModifier(cmd -> cmd.withInternal(true)).build();

    // The CA: initialised here (same program), served from a container named "ca".
    Path caDir = dir.resolve("ca");
    estServer("init", "--data", caDir.toString(), "--hostname", "ca", "--lifetime", "40s");
    // The grace period covers what a restart costs a short-lived certificate; the same on the
    // gateway, which judges devices' certificates first.
    JsonFiles.patch(caDir.resolve("server.json"), "{\"bindAddress\": \"0.0.0.0\", \"defaultProfile\": "
        + "{\"backdate\": \"0s\"}, \"reenroll\": {\"gracePeriod\": \"2m\"}}");
    Path trust = Files.createDirectories(dir.resolve("trust"));
    Files.copy(caDir.resolve("ca/root.pem"), trust.resolve("root.pem"));
    List<String> ids = new ArrayList<>();
    for (int c = 0; c < AGENT_CONTAINERS; c++) {
      for (int a = 0; a < AGENTS_PER_CONTAINER; a++) {
        ids.add("box" + c + "-device" + a);
      }
    }
    Map<String, String> tokens = new HashMap<>();
    Map<String, String> gatewayTokens = new HashMap<>();
    try (Database database = Database.open(caDir.resolve("estfleet.db"))) {
      BootstrapTokens factory = new BootstrapTokens(new TokenRecords(database), Clock.systemUTC(), new SecureRandom());
      for (String gateway : GATEWAYS) {
        gatewayTokens.put(gateway, factory.create(gateway, Duration.ofHours(1), Role.GATEWAY, "").secret());
      }
      for (String id : ids) {
        tokens.put(id, factory.create(id, Duration.ofHours(1)).secret());
      }
    }
    GenericContainer<?> ca = serve(caDir, "ca");

    // The gateways: each enrolled at the CA by its own init in a container, then served under its name.
    Map<String, Path> gatewayDirs = new HashMap<>();
    Map<String, GenericContainer<?>> gateways = new HashMap<>();
    for (String name : GATEWAYS) {
      Path gatewayDir = Files.createDirectories(dir.resolve(name));
      oneShot(Images.estServer(), Map.of(gatewayDir, "/data", trust, "/trust"),
          "init", "--data", "/data", "--gateway", "--upstream", "https://ca:8443", "--upstream-trust", "/trust/root.pem",
          "--token", name + ":" + gatewayTokens.get(name), "--hostname", name);
      JsonFiles.patch(gatewayDir.resolve("server.json"), "{\"bindAddress\": \"0.0.0.0\", \"reenroll\": "
          + "{\"gracePeriod\": \"2m\"}, \"gateway\": {\"retryAfter\": \"1s\", \"forwardInterval\": \"250ms\", "
          + "\"connectTimeout\": \"2s\"}}");
      gatewayDirs.put(name, gatewayDir);
      gateways.put(name, serve(gatewayDir, name));
    }

    // The devices: enrolled through the gateway, then several agents per container.
    try (Fleet fleet = new Fleet(dir)) {
      for (int c = 0; c < AGENT_CONTAINERS; c++) {
        Path agents = Files.createDirectories(dir.resolve("agents" + c));
        List<String> command = new ArrayList<>(List.of("run"));
        String via = gatewayOf(c);
        for (int a = 0; a < AGENTS_PER_CONTAINER; a++) {
          String id = "box" + c + "-device" + a;
          oneShot(Images.renewalAgent(), Map.of(agents, "/agents", trust, "/trust"), "enroll", "--state", "/agents/" + id,
              "--server", "https://" + via + ":8443", "--trust", "/trust/root.pem", "--token", id + ":" + tokens.get(id));
          JsonFiles.patch(agents.resolve(id).resolve(StateDir.CONFIG),
              "{\"retry\": {\"initial\": \"1s\", \"max\": \"4s\"}, \"timeouts\": {\"connect\": \"2s\"}}");
          command.addAll(List.of("--state", "/agents/" + id));
          fleet.adopt(new Fleet.Device(id, agents.resolve(id), via));
        }
        String name = "box" + c;
        GenericContainer<?> box = new GenericContainer<>(Images.renewalAgent())
            .withNetwork(network)
            .withLogConsumer(frame -> System.out.print("[" + name + "] " + frame.getUtf8String()))
            .withFileSystemBind(agents.toString(), "/agents", BindMode.READ_WRITE)
            .withCommand(command.toArray(String[]::new))
            .waitingFor(Wait.forLogMessage(".*running for box" + c + "-device" + (AGENTS_PER_CONTAINER - 1) + ".*\\n", 1)
                .withStartupTimeout(START));
        containers.add(box);
        try {
          box.start();
        } catch (RuntimeException e) {
          throw new AssertionError("agents of box" + c + " failed: " + box.getLogs(), e);
        }
      }

      Await.until("every device renewed once through its gateway", Duration.ofMinutes(2), Duration.ofMillis(500),
          () -> fleet.fewestCertificates(caDir) >= 2);

      // Cut the CA off; the gateways hold what devices send, one of them across its own restart.
      DockerClient docker = DockerClientFactory.instance().client();
      docker.disconnectFromNetworkCmd().withNetworkId(network.getId()).withContainerId(ca.getContainerId())
          .withForce(true).exec();
      Await.until("renewals held at both gateways", Duration.ofMinutes(2), Duration.ofMillis(500),
          () -> gatewayDirs.values().stream().allMatch(d -> pending(d) >= 2));
      Path restartedDir = gatewayDirs.get(GATEWAYS.get(0));
      docker.restartContainerCmd(gateways.get(GATEWAYS.get(0)).getContainerId()).withTimeout(30).exec();
      assertTrue(pending(restartedDir) >= 2, "held across the gateway's restart");
      Instant restored = Instant.now();
      docker.connectToNetworkCmd().withNetworkId(network.getId()).withContainerId(ca.getContainerId())
          .withContainerNetwork(new ContainerNetwork().withAliases("ca")).exec();

      Await.until("every device renewed after the outage", Duration.ofMinutes(3), Duration.ofMillis(500),
          () -> fleet.renewedSince(restored) == ids.size());
      for (GenericContainer<?> container : containers) {
        if (container != ca && !gateways.containsValue(container)) {
          container.stop();
        }
      }

      X509Certificate root = Pem.readCertificates(caDir.resolve("ca/root.pem")).get(0);
      X509Certificate issuing = Pem.readCertificates(caDir.resolve("ca/issuing.pem")).get(0);
      fleet.verify(caDir, root, issuing);
      for (Path gatewayDir : gatewayDirs.values()) {
        assertEquals(0L, pending(gatewayDir));
      }
      Map<String, List<org.estfleet.server.store.IssuanceRecord>> byDevice = Fleet.byDevice(caDir);
      long renewals = ids.stream().mapToLong(id -> byDevice.get(id).size() - 1).sum();
      int fewest = ids.stream().mapToInt(id -> byDevice.get(id).size() - 1).min().orElse(0);
      for (Fleet.Device device : fleet.devices()) {
        assertTrue(byDevice.get(device.id()).stream().allMatch(r -> device.via().equals(r.forwardedBy())),
            device.id() + " was not always served through " + device.via());
      }
      new FleetReport("containers", ids.size(), renewals, fewest, fleet.retries(), null, null, null,
          fleet.longestWithoutCertificate(caDir).toSeconds(), Duration.between(start, Instant.now()).toMillis() / 1000.0,
          null).publish();
    }
  }

  /** Half the agent containers are behind each gateway. */
  private static String gatewayOf(int container) {
    return GATEWAYS.get(container * GATEWAYS.size() / AGENT_CONTAINERS);
  }

  private GenericContainer<?> serve(Path data, String alias) {
    GenericContainer<?> server = new GenericContainer<>(Images.estServer())
        .withNetwork(network)
        .withLogConsumer(frame -> System.out.print("[" + alias + "] " + frame.getUtf8String()))
        .withNetworkAliases(alias)
        .withFileSystemBind(data.toString(), "/data", BindMode.READ_WRITE)
        .withCommand("serve", "--data", "/data", "--port", "8443")
        .waitingFor(Wait.forLogMessage(".*listening on https.*\\n", 1).withStartupTimeout(START));
    containers.add(server);
    try {
      server.start();
    } catch (RuntimeException e) {
      throw new AssertionError("serve " + alias + " failed: " + server.getLogs(), e);
    }
    return server;
  }

  /** Runs a container to completion; a non-zero exit fails the test with its log. */
  private void oneShot(org.testcontainers.images.builder.ImageFromDockerfile image, Map<Path, String> binds,
      String... command) {
    GenericContainer<?> container = new GenericContainer<>(image)
        .withNetwork(network)
        .withLogConsumer(frame -> System.out.print("[" + command[0] + "] " + frame.getUtf8String()))
        .withCommand(command)
        .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(START));
    binds.forEach((host, inside) -> container.withFileSystemBind(host.toString(), inside, BindMode.READ_WRITE));
    try {
      container.start();
    } catch (RuntimeException e) {
      throw new AssertionError(String.join(" ", command) + " failed: " + container.getLogs(), e);
    } finally {
      container.stop();
    }
  }

  private static long pending(Path gatewayDir) {
    try (Database database = Database.open(gatewayDir.resolve("estfleet.db"))) {
      return new PendingEnrollments(database).depth().pending();
    }
  }

  private static void estServer(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = EstServerCommand.commandLine(new PrintWriter(out), new PrintWriter(err)).execute(args);
    if (exit != 0) {
      throw new IllegalStateException(args[0] + " failed (" + exit + "): " + err);
    }
  }
}
