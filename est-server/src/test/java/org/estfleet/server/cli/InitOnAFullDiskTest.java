package org.estfleet.server.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.estfleet.server.Cli;
import org.estfleet.server.ServerRuntime;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code init} that fails half way for want of space loses nothing: run as a process whose files
 * may not grow beyond 150 KiB ({@code ulimit -f}), where the new database cannot be written, as
 * on a nearly full disk.
 */
class InitOnAFullDiskTest {
  @TempDir
  Path dir;

  /** SQLite's native library, extracted beforehand: the limited process could not extract it. */
  private Path sqliteLibrary;

  @BeforeEach
  void extractSqlite() throws Exception {
    String resource = "/org/sqlite/native/Linux/x86_64/libsqlitejdbc.so";
    assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64")
        && Files.isExecutable(Path.of("/bin/bash")), "a Linux x86-64 machine with bash");
    sqliteLibrary = Files.createDirectory(dir.resolve("lib"));
    try (InputStream library = getClass().getResourceAsStream(resource)) {
      Files.copy(library, sqliteLibrary.resolve("libsqlitejdbc.so"));
    }
  }

  /** {@code est-server ARGS} in a process whose files may not grow beyond 150 KiB. */
  private Cli.Run runWithLittleSpace(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("/bin/bash", "-c", "ulimit -f 150; exec \"$@\"", "bash",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dorg.sqlite.lib.path=" + sqliteLibrary, "-Dorg.sqlite.lib.name=libsqlitejdbc.so",
        "-cp", System.getProperty("java.class.path"), EstServerCommand.class.getName()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectOutput(dir.resolve("out").toFile())
        .redirectError(dir.resolve("err").toFile()).start();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "est-server " + String.join(" ", args) + " ended");
    return new Cli.Run(process.exitValue(), Files.readString(dir.resolve("out")), Files.readString(dir.resolve("err")));
  }

  /** Every file under {@code root} (the serve lock aside) and its bytes. */
  private static Map<String, byte[]> files(Path root) throws Exception {
    Map<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        if (!file.getFileName().toString().equals(ServerRuntime.SERVE_LOCK)) {
          files.put(root.relativize(file).toString(), Files.readAllBytes(file));
        }
      }
    }
    return files;
  }

  @Test
  void initForce_thatCannotWriteTheNewDatabase_leavesTheDataDirectoryAsItWas() throws Exception {
    Path data = dir.resolve("data");
    assertEquals(0, Cli.run("init", "--data", data.toString()).exit());
    Map<String, byte[]> before = files(data);

    Cli.Run replaced = runWithLittleSpace("init", "--data", data.toString(), "--force");

    assertEquals(1, replaced.exit(), replaced.err());
    String lastLine = replaced.err().strip().lines().reduce((first, second) -> second).orElse("");
    assertTrue(lastLine.startsWith("est-server: cannot migrate database " + data.resolve("estfleet.db")), lastLine);
    Map<String, byte[]> after = files(data);
    assertEquals(before.keySet(), after.keySet(), "the same files: " + after.keySet());
    for (Map.Entry<String, byte[]> file : before.entrySet()) {
      assertArrayEquals(file.getValue(), after.get(file.getKey()), file.getKey() + " as it was");
    }
    assertFalse(Files.exists(data.resolve(InitCommand.PREVIOUS)));
    Cli.Run served = Cli.run("token", "--data", data.toString(), "--device", "device-1");
    assertEquals(0, served.exit(), "the old CA still makes tokens: " + served.err());
  }

  @Test
  void whatAnInterruptedInitForceMovedAside_isNotRunOver() throws Exception {
    Path data = dir.resolve("data");
    assertEquals(0, Cli.run("init", "--data", data.toString()).exit());
    Files.createDirectories(data.resolve(InitCommand.PREVIOUS).resolve("ca"));
    Map<String, byte[]> before = files(data);

    Cli.Run again = Cli.run("init", "--data", data.toString(), "--force");

    assertEquals(2, again.exit(), again.err());
    assertEquals("est-server: " + data.resolve(InitCommand.PREVIOUS) + " holds what an interrupted init --force was "
        + "replacing: move its entries back into " + data + " (or delete it if they are not wanted), then run init "
        + "again\n", again.err());
    assertEquals(before.keySet(), files(data).keySet());
  }

  @Test
  void aFirstInit_thatCannotWriteTheDatabase_leavesNoDirectory_andRunsAgain() throws Exception {
    Path data = dir.resolve("data");

    Cli.Run failed = runWithLittleSpace("init", "--data", data.toString());

    assertEquals(1, failed.exit(), failed.err());
    assertEquals(List.of("est-server: cannot migrate database " + data.resolve("estfleet.db")),
        failed.err().lines().map(line -> line.replaceAll(": \\[SQLITE_.*", "")).toList(), "one line: " + failed.err());
    assertFalse(Files.exists(data), "no half-made data directory for init to refuse next time");
    assertEquals(0, Cli.run("init", "--data", data.toString()).exit());
  }
}
