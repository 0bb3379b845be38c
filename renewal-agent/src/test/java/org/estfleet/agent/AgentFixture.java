package org.estfleet.agent;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import org.estfleet.agent.cli.RenewalAgentCommand;
import org.estfleet.agent.store.StateDir;
import org.estfleet.json.JsonFiles;
import org.estfleet.server.TestServer;

/** Test fixture: the agent's command line in-process, and renewers on a state directory. */
public final class AgentFixture {
  private AgentFixture() {}

  /** What a command printed and returned. */
  public record Run(int exit, String out, String err) {}

  /** Runs {@code renewal-agent ARGS} in this JVM. */
  public static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = RenewalAgentCommand.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** Enrolls a device with a fresh token, failing the test if that does not work. */
  public static Path enroll(TestServer server, Path state, String deviceId, String... extra) {
    return enroll(server, server, state, deviceId, extra);
  }

  /** Enrolls a device through {@code endpoint} (a gateway) with a fresh token from {@code ca}. */
  public static Path enroll(TestServer ca, TestServer endpoint, Path state, String deviceId, String... extra) {
    String[] base = {"enroll", "--state", state.toString(), "--server", endpoint.baseUri().toString(),
        "--trust", ca.dataDir().resolve("ca/root.pem").toString(), "--token", deviceId + ":" + ca.token(deviceId)};
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    Run run = cli(args);
    if (run.exit() != 0) {
      throw new AssertionError("enroll failed (" + run.exit() + "): " + run.err() + run.out());
    }
    return state;
  }

  /** A renewer on {@code state} with {@code clock}; the build time is the epoch, so no clock is "too early". */
  public static Renewer renewer(Path state, Clock clock) throws AgentException {
    StateDir dir = StateDir.open(state);
    return new Renewer(dir, dir.readConfig(), clock, new SecureRandom(), Instant.EPOCH);
  }

  /** Deep-merges {@code patch} into the state directory's {@code agent.json}. */
  public static void patchConfig(Path state, String patch) throws Exception {
    JsonFiles.patch(state.resolve(StateDir.CONFIG), patch);
  }

  /**
   * Sets or clears a file attribute ({@code +i}: immutable, read-only for root too, as a read-only
   * file system or a full disk would make writes fail); false where chattr is missing or the file
   * system has no such attribute.
   */
  static boolean chattr(String flag, Path path) throws Exception {
    try {
      return new ProcessBuilder("chattr", flag, path.toString()).redirectErrorStream(true).start().waitFor() == 0;
    } catch (java.io.IOException noChattr) {
      return false;
    }
  }
}
