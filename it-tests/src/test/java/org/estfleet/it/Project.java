package org.estfleet.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The project checkout these tests run in: its packaged jars, its README, and running commands. */
public final class Project {
  /** Maven runs each module's tests in the module's directory. */
  public static final Path ROOT = Path.of("").toAbsolutePath().getParent();

  private Project() {}

  /** A packaged jar, e.g. {@code est-server/target/est-server.jar}; fails if it was not built. */
  public static Path jar(String relative) {
    Path jar = ROOT.resolve(relative);
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing; build with 'mvn -B verify' from " + ROOT);
    }
    return jar;
  }

  /** The command that runs a packaged jar with the JVM running the tests. */
  public static List<String> java(Path jar, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(List.of(args));
    return command;
  }

  /** What a finished process printed. */
  public record Result(int exit, String out, String err) {}

  /** Runs a command to completion (at most {@code timeoutSeconds}), capturing its output. */
  public static Result run(Path directory, List<String> command, java.util.Map<String, String> environment,
      long timeoutSeconds) throws IOException, InterruptedException {
    Path out = Files.createTempFile("out", ".txt");
    Path err = Files.createTempFile("err", ".txt");
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(environment);
    Process process = builder.start();
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(command + " did not finish in " + timeoutSeconds + "s; stderr: "
          + Files.readString(err, StandardCharsets.UTF_8));
    }
    Result result = new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
    Files.delete(out);
    Files.delete(err);
    return result;
  }

  /** The fenced code block that follows the marker {@code <!-- tested: NAME -->} in README.md. */
  static String readmeBlock(String name) throws IOException {
    String readme = Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    String marker = "<!-- tested: " + name + " -->";
    int at = readme.indexOf(marker);
    if (at < 0) {
      throw new IllegalStateException("README.md has no block marked " + marker);
    }
    int open = readme.indexOf("```", at);
    int start = readme.indexOf('\n', open) + 1;
    int close = readme.indexOf("```", start);
    return readme.substring(start, close);
  }
}
