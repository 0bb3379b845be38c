package org.estfleet.agent.cli;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.estfleet.agent.AgentException;
import org.estfleet.agent.AgentStatus;
import org.estfleet.agent.BuildInfo;
import org.estfleet.agent.Renewer;
import org.estfleet.agent.store.StateDir;
import org.estfleet.json.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code renewal-agent status}: the certificate, the next renewal, the last attempt, the pending
 * request, the trust anchors and the endpoints. Exit 3 when there is no usable certificate.
 */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the agent's state (--json for machines, --prometheus for a metrics collector).")
final class StatusCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--state", required = true, paramLabel = "DIR", description = "The agent's state directory.")
  Path state;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Option(names = "--prometheus", description = "Print gauges in the Prometheus text format (node_exporter's "
      + "textfile collector).")
  boolean prometheus;

  @Override
  public Integer call() throws Exception {
    if (json && prometheus) {
      throw AgentException.usage("--json and --prometheus are two formats: give one");
    }
    StateDir dir = StateDir.open(state);
    Clock clock = Clock.systemUTC();
    Renewer renewer = Renewer.open(dir, clock, new SecureRandom());
    Instant now = clock.instant();
    AgentStatus status = AgentStatus.of(dir, renewer.config(), renewer, now, BuildInfo.timestamp());
    spec.commandLine().getOut().print(json ? Json.write(status) : prometheus ? status.toPrometheus() : status.toText(now));
    spec.commandLine().getOut().flush();
    if (status.unusable()) {
      // Exit 3 says it to scripts; the one line on stderr says it to people, as for every failure.
      spec.commandLine().getErr().println("renewal-agent: no usable certificate (" + status.state() + ")");
      spec.commandLine().getErr().flush();
      return AgentException.NOT_ENROLLED;
    }
    return 0;
  }
}
