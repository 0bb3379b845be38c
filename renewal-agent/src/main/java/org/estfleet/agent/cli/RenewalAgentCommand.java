package org.estfleet.agent.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.estfleet.agent.AgentException;
import org.estfleet.agent.Renewer;
import org.estfleet.est.EstException;
import org.estfleet.io.IoMessages;
import org.estfleet.pki.KeyAlgorithm;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code renewal-agent}: the root command. Exit codes: 0 ok, 2 bad usage or configuration, 3 not
 * enrolled or certificate expired, 1 any other failure; each failure is one line on stderr.
 */
@Command(
    name = "renewal-agent",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Keeps a device's certificate and trust anchors current over EST (RFC 7030).",
    subcommands = {EnrollCommand.class, RenewCommand.class, RunCommand.class, StatusCommand.class})
public final class RenewalAgentCommand implements Callable<Integer> {
  /** The one-shot commands: they print their outcome themselves. */
  private static final Set<String> ONE_SHOT = Set.of("enroll", "renew");

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return AgentException.USAGE;
  }

  public static void main(String[] args) {
    PrintWriter err = new PrintWriter(System.err, true);
    // @files are read once, here: a second reading would find a pipe (@/dev/stdin) empty.
    List<String> expanded;
    try {
      expanded = expandAtFiles(args);
    } catch (CommandLine.PicocliException e) {
      err.println("renewal-agent: " + oneLine(e.getMessage()));
      System.exit(AgentException.USAGE);
      return;
    }
    configureLogging(expanded);
    CommandLine commandLine = commandLine(new PrintWriter(System.out, true), err);
    commandLine.setExpandAtFiles(false);
    System.exit(commandLine.execute(expanded.toArray(String[]::new)));
  }

  /**
   * The log of this process, set before any logger exists (slf4j-simple reads its settings once):
   * {@code run} logs every step at INFO, the journal being its only output; {@code enroll} and
   * {@code renew} print their outcome (stdout, or the one error line on stderr), so they log only
   * warnings about anything else (a post-renew hook that failed, a root ignored) and the changes
   * a root rollover makes to the trust anchors, unless {@code --verbose}. A level set on the JVM's
   * command line ({@code -Dorg.slf4j.simpleLogger.defaultLogLevel=debug}) is kept. Arguments from
   * an {@code @file} count as on the command line (a unit file's {@code renewal-agent @/etc/...}).
   */
  static void configureLogging(List<String> expanded) {
    String command = expanded.stream().filter(arg -> !arg.startsWith("-")).findFirst().orElse("");
    if (ONE_SHOT.contains(command) && !expanded.contains("--verbose")
        && System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      setUnlessSet("org.slf4j.simpleLogger.defaultLogLevel", "warn");
      setUnlessSet("org.slf4j.simpleLogger.log." + Renewer.OUTCOME_LOGGER, "off");
      setUnlessSet("org.slf4j.simpleLogger.log." + Renewer.TRUST_LOGGER, "info");
    }
  }

  /**
   * The arguments with their {@code @file}s expanded by picocli itself (its syntax, {@code @@} for
   * a literal {@code @}), without the commands' classes, whose loggers would fix the log settings
   * before they are made.
   *
   * @throws CommandLine.PicocliException if an {@code @file} cannot be read (a directory, say)
   */
  static List<String> expandAtFiles(String[] args) {
    CommandSpec words = CommandSpec.create();
    words.addPositional(CommandLine.Model.PositionalParamSpec.builder().arity("0..*").type(String[].class).build());
    words.parser().unmatchedOptionsArePositionalParams(true);
    return new CommandLine(words).parseArgs(args).expandedArgs();
  }

  /**
   * One line of printable text, whatever a message quotes (an identity with a line break in it, an
   * escape sequence a server sent): errors are one line.
   */
  static String oneLine(String message) {
    return message == null ? null : EstException.oneLine(message);
  }

  private static void setUnlessSet(String property, String value) {
    if (System.getProperty(property) == null) {
      System.setProperty(property, value);
    }
  }

  /** The configured command line, writing to {@code out} and {@code err}. */
  public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine commandLine = new CommandLine(new RenewalAgentCommand());
    commandLine.setOut(out);
    commandLine.setErr(err);
    // A value it cannot read says why, without the exception's class name.
    commandLine.registerConverter(KeyAlgorithm.class, text -> {
      try {
        return KeyAlgorithm.fromId(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    });
    commandLine.registerConverter(java.nio.file.Path.class, text -> {
      try {
        return org.estfleet.io.PathText.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    });
    commandLine.registerConverter(java.time.Duration.class, text -> {
      try {
        return org.estfleet.json.DurationText.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    });
    commandLine.setParameterExceptionHandler((e, args) -> {
      CommandLine failed = e.getCommandLine();
      failed.getErr().println("renewal-agent: " + oneLine(e.getMessage()) + " (see: "
          + failed.getCommandSpec().qualifiedName() + " --help)");
      return AgentException.USAGE;
    });
    commandLine.setExecutionExceptionHandler((e, failed, parseResult) -> {
      String message = IoMessages.withReason(e.getMessage(), e);
      failed.getErr().println("renewal-agent: " + oneLine(message == null ? e.toString() : message));
      return e instanceof AgentException agent ? agent.exitCode() : AgentException.FAILURE;
    });
    return commandLine;
  }
}
