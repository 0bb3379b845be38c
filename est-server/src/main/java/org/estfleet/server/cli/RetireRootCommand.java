package org.estfleet.server.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import org.estfleet.pki.Certificates;
import org.estfleet.server.ca.CaRollover;
import org.estfleet.server.config.DataDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code est-server retire-root}: ends a rollover (see {@link CaRollover#retire}). */
@Command(name = "retire-root", mixinStandardHelpOptions = true,
    description = {"End a root rollover after its overlap: the new root and issuing CA replace the old ones "
        + "(archived in retired/ beside the root certificate), /cacerts and the TLS chain no longer carry the old root or the links.",
        "A running 'serve' takes it up within ca.checkInterval (10s by default), without a restart."})
final class RetireRootCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The CA's data directory.")
  Path data;

  @Option(names = "--force", description = "Retire before the link certificates expire (the end of the overlap).")
  boolean force;

  @Override
  public Integer call() throws Exception {
    DataDir dataDir = DataDir.open(data);
    CaRollover.Outcome outcome = CaRollover.retire(dataDir, force, Clock.systemUTC());
    try (OperatorAudit audit = OperatorAudit.open(dataDir, spec.commandLine().getErr())) {
      Map<String, Object> line = OperatorAudit.fields();
      line.put("root", outcome.oldRoot().getSubjectX500Principal().getName());
      line.put("rootSha256", Certificates.fingerprint(outcome.oldRoot()));
      line.put("newRootSha256", Certificates.fingerprint(outcome.root()));
      line.put("forced", force);
      audit.record("retire-root", line);
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("old root retired in " + data);
    out.println("  retired:     " + outcome.oldRoot().getSubjectX500Principal().getName() + " (sha256 "
        + Certificates.fingerprint(outcome.oldRoot()) + "), archived in "
        + CaRollover.archiveOf(CaRollover.files(dataDir), outcome.oldRoot()));
    out.println("  root:        " + outcome.root().getSubjectX500Principal().getName() + " (sha256 "
        + Certificates.fingerprint(outcome.root()) + ")");
    out.println("  next:        a running est-server serve takes it up within ca.checkInterval");
    return EstServerCommand.EXIT_OK;
  }
}
