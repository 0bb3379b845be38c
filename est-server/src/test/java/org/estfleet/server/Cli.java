package org.estfleet.server;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.estfleet.server.cli.EstServerCommand;

/** The est-server command line, run in the test's JVM with what it prints captured. */
public final class Cli {
  private Cli() {}

  /** What a command did: its exit code, stdout and stderr. */
  public record Run(int exit, String out, String err) {}

  public static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = EstServerCommand.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }
}
