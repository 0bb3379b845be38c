package org.estfleet.agent.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.estfleet.agent.AgentException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateLockTest {
  @TempDir
  Path dir;

  private final ExecutorService other = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    other.shutdownNow();
  }

  @Test
  void theHolder_takesItAgain_andTheDirectoryIsReleasedWithTheOutermostHold() throws Exception {
    StateDir state = StateDir.create(dir.resolve("agent"));

    try (StateLock outer = state.lock()) {
      try (StateLock inner = state.lock()) {
        assertRefusedElsewhere(state);
      }
      assertRefusedElsewhere(state); // the inner hold's end does not release it
    }

    other.submit(() -> {
      try (StateLock taken = state.lock()) {
        return taken;
      }
    }).get();
  }

  @Test
  void aDaemonHold_isRefusedASecondTime_evenThroughAnotherPathToTheDirectory() throws Exception {
    StateDir state = StateDir.create(dir.resolve("agent"));
    Path link = java.nio.file.Files.createSymbolicLink(dir.resolve("link"), dir.resolve("agent"));

    state.holdForDaemon();
    AgentException twice = assertThrows(AgentException.class, () -> StateDir.create(link).holdForDaemon());

    assertEquals(AgentException.USAGE, twice.exitCode());
    assertEquals("--state " + link + " is given twice", twice.getMessage());
    assertEquals(ProcessHandle.current().pid() + "\n", java.nio.file.Files.readString(dir.resolve("agent/.run.lock")));
    try (StateLock operation = state.lock()) { // renew and status still work beside a daemon
      assertTrue(operation != null);
    }
  }

  private void assertRefusedElsewhere(StateDir state) {
    ExecutionException failed = assertThrows(ExecutionException.class, () -> other.submit(() -> {
      try (StateLock taken = state.lock()) {
        return taken;
      }
    }).get());
    assertInstanceOf(AgentException.class, failed.getCause());
    assertTrue(failed.getCause().getMessage().contains("in use by another agent in this process"),
        failed.getCause().getMessage());
  }
}
