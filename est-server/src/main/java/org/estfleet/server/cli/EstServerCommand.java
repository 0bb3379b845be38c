package org.estfleet.server.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.estfleet.est.EstException;
import org.estfleet.io.IoMessages;
import org.estfleet.json.DurationText;
import org.estfleet.server.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code est-server}: the root command. Exit codes: 0 ok, 2 bad usage or configuration, 1 any
 * other failure; each failure is one line on stderr.
 */
@Command(
    name = "est-server",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "EST (RFC 7030) server for device fleets: CA mode with its own issuing CA.",
    subcommands = {InitCommand.class, ServeCommand.class, TokenCommand.class, TokensCommand.class,
        RolloverCommand.class, RetireRootCommand.class, RevokeCommand.class})
public final class EstServerCommand implements Callable<Integer> {
  static final int EXIT_OK = 0;
  static final int EXIT_FAILURE = 1;
  static final int EXIT_USAGE = 2;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return EXIT_USAGE;
  }

  public static void main(String[] args) {
    System.exit(commandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args));
  }

  /** The configured command line, writing to {@code out} and {@code err}. */
  public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine commandLine = new CommandLine(new EstServerCommand());
    commandLine.setOut(out);
    commandLine.setErr(err);
    // A value it cannot read says why, without the exception's class name.
    commandLine.registerConverter(java.nio.file.Path.class, text -> {
      try {
        return org.estfleet.io.PathText.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    });
    commandLine.registerConverter(Duration.class, text -> {
      try {
        return DurationText.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    });
    commandLine.setParameterExceptionHandler((e, args) -> {
      CommandLine failed = e.getCommandLine();
      failed.getErr().println("est-server: " + oneLine(e.getMessage()) + " (see: " + failed.getCommandSpec().qualifiedName()
          + " --help)");
      return EXIT_USAGE;
    });
    commandLine.setExecutionExceptionHandler((e, failed, parseResult) -> {
      failed.getErr().println("est-server: " + message(e));
      return e instanceof ConfigException ? EXIT_USAGE : EXIT_FAILURE;
    });
    return commandLine;
  }

  private static String message(Exception e) {
    String message = IoMessages.withReason(e.getMessage(), e);
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : oneLine(message);
  }

  /**
   * A value from the command line as an error line quotes it: in single quotes, cut after 64
   * characters (a value pasted by mistake can be a whole file).
   */
  static String quoted(String value) {
    return "'" + (value.length() <= 64 ? value : value.substring(0, 64) + "...") + "'";
  }

  /**
   * One line of printable text, whatever a message quotes (a device id given with a line break in
   * it, an escape sequence or a 100 KB value in a configuration file): as a refusal's text.
   */
  private static String oneLine(String message) {
    return message == null ? null : EstException.oneLine(message);
  }
}
