package org.estfleet.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessLockTest {
  @TempDir
  Path dir;

  @Test
  void heldOnce_throughAnyPathToItsDirectory_andFreeAgainOnceClosed() throws Exception {
    Path data = Files.createDirectory(dir.resolve("data"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), data);
    Path file = data.resolve(".lock");

    Optional<ProcessLock> first = ProcessLock.tryHold(file);
    assertTrue(first.isPresent());
    assertTrue(ProcessLock.tryHold(file).isEmpty(), "held already");
    assertTrue(ProcessLock.tryHold(link.resolve(".lock")).isEmpty(), "the same file through a link");
    assertTrue(ProcessLock.heldHere(link.resolve(".lock")));
    assertEquals(Optional.of(ProcessHandle.current().pid()), ProcessLock.holder(file));
    assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(file));

    first.get().close();

    assertFalse(ProcessLock.heldHere(file));
    try (ProcessLock again = ProcessLock.tryHold(file).orElseThrow()) {
      assertTrue(ProcessLock.heldHere(file));
    }
  }

  @Test
  void theHolderNamed_onlyIfThatProcessLives() throws Exception {
    Path file = dir.resolve(".lock");
    Files.writeString(file, "999999999\n"); // beyond pid_max: no such process
    Path garbage = Files.writeString(dir.resolve("garbage.lock"), "not a pid\n");

    assertEquals("", ProcessLock.describeHolder(file));
    assertEquals("", ProcessLock.describeHolder(garbage));
    assertEquals("", ProcessLock.describeHolder(dir.resolve("missing.lock")));
    assertEquals(" (pid " + ProcessHandle.current().pid() + ")", ProcessLock.describeHolder(
        Files.writeString(dir.resolve("mine.lock"), ProcessHandle.current().pid() + "\n")));
  }
}
