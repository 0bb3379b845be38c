package org.estfleet.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.estfleet.agent.store.AgentConfig;
import org.estfleet.agent.store.AgentState;
import org.estfleet.agent.store.CredentialStore;
import org.estfleet.io.SmallFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the configured command after a new certificate is installed, so that the services using it
 * reload. It gets the paths in its environment ({@code ESTFLEET_KEY}, {@code ESTFLEET_CERT},
 * {@code ESTFLEET_CHAIN}, plus {@code ESTFLEET_SERIAL} and {@code ESTFLEET_IDENTITY}); it is
 * killed after its timeout. Its failure is reported in the state and the log, and changes
 * nothing else: the new certificate stays installed.
 */
final class PostRenewHook {
  private static final Logger LOG = LoggerFactory.getLogger(PostRenewHook.class);
  private static final int MAX_OUTPUT = 500;

  private PostRenewHook() {}

  static AgentState.HookRun run(AgentConfig.Hook hook, CredentialStore.Credentials installed, Path stateDir,
      String identity, Clock clock) {
    ProcessBuilder builder = new ProcessBuilder(hook.command()).directory(stateDir.toFile()).redirectErrorStream(true);
    Map<String, String> environment = builder.environment();
    environment.put("ESTFLEET_KEY", installed.directory().resolve(CredentialStore.KEY).toString());
    environment.put("ESTFLEET_CERT", installed.directory().resolve(CredentialStore.CERTIFICATE).toString());
    environment.put("ESTFLEET_CHAIN", installed.directory().resolve(CredentialStore.CHAIN).toString());
    environment.put("ESTFLEET_SERIAL", org.estfleet.pki.Certificates.serialHex(installed.certificate()));
    environment.put("ESTFLEET_IDENTITY", identity);
    Path output = null;
    try {
      output = Files.createTempFile("estfleet-hook", ".out");
      builder.redirectOutput(output.toFile());
      Process process = builder.start();
      if (!process.waitFor(hook.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        LOG.warn("post-renew hook {} did not finish within {}; killed", hook.command(), hook.timeout());
        return new AgentState.HookRun(clock.instant(), null, "killed after " + org.estfleet.json.DurationText.format(hook.timeout()));
      }
      String printed = tail(output);
      int exit = process.exitValue();
      if (exit != 0) {
        LOG.warn("post-renew hook {} exited {}: {}", hook.command(), exit, printed);
      } else {
        LOG.info("post-renew hook {} succeeded", hook.command());
      }
      return new AgentState.HookRun(clock.instant(), exit, printed);
    } catch (IOException e) {
      LOG.warn("post-renew hook {} could not run: {}", hook.command(), e.getMessage());
      return new AgentState.HookRun(clock.instant(), null, "could not run: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new AgentState.HookRun(clock.instant(), null, "interrupted");
    } finally {
      if (output != null) {
        try {
          Files.deleteIfExists(output);
        } catch (IOException e) {
          LOG.debug("cannot delete {}", output, e);
        }
      }
    }
  }

  private static String tail(Path output) throws IOException {
    String text = SmallFiles.readString(output, StandardCharsets.UTF_8).strip().replaceAll("\\s+", " ");
    return text.length() <= MAX_OUTPUT ? text : "..." + text.substring(text.length() - MAX_OUTPUT);
  }
}
