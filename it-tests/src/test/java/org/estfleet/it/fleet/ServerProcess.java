package org.estfleet.it.fleet;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.estfleet.it.Project;

/** {@code est-server serve} as a process of its own, which a test can kill (SIGKILL) and start again. */
final class ServerProcess implements AutoCloseable {
  private final Path jar;
  private final Path data;
  private final Path log;
  private Process process;
  private int port;

  private ServerProcess(Path jar, Path data, Path log) {
    this.jar = jar;
    this.data = data;
    this.log = log;
  }

  /** Starts {@code serve} on a free port and waits for its {@code listening on} line. */
  static ServerProcess start(Path jar, Path data, Path log) throws IOException {
    ServerProcess server = new ServerProcess(jar, data, log);
    server.launch();
    return server;
  }

  private void launch() throws IOException {
    process = new ProcessBuilder(Project.java(jar, "serve", "--data", data.toString(), "--port", Integer.toString(port)))
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null || !line.startsWith("listening on https://")) {
      process.destroyForcibly();
      throw new IllegalStateException("est-server serve did not start: " + line + "; see " + log);
    }
    port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
  }

  URI baseUri() {
    return URI.create("https://localhost:" + port);
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed or closed. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** Starts again on the same port. */
  void restart() throws IOException {
    launch();
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
