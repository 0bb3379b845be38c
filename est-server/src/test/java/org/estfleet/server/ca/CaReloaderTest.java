package org.estfleet.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.estfleet.pki.TestPki;
import org.estfleet.server.TestServer;
import org.estfleet.server.config.DataDir;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A running CA's check of its files, one check at a time (the timer's work, without the timer). */
class CaReloaderTest {
  @TempDir
  Path dir;

  private DataDir dataDir;
  private CaReloader reloader;
  private final List<CaReloader.Loaded> heard = new ArrayList<>();
  private final Consumer<CaReloader.Loaded> listener = heard::add;
  private final ExecutorService otherThread = Executors.newSingleThreadExecutor();

  @BeforeEach
  void load() throws Exception {
    TestServer.init(dir);
    dataDir = DataDir.open(dir);
    reloader = CaReloader.load(dataDir);
  }

  @AfterEach
  void close() {
    reloader.close();
    otherThread.shutdownNow();
  }

  @Test
  void aRollover_isTakenUpOnce_withItsTlsChain() throws Exception {
    CaReloader.Loaded before = reloader.current();
    assertEquals(CaReloader.Check.UNCHANGED, reloader.check(listener));

    CaRollover.Outcome rollover = CaRollover.start(dataDir, Clock.systemUTC().instant(), Duration.ofDays(30),
        Clock.systemUTC(), TestPki.RANDOM);

    assertNull(before.ca().rollover());
    assertEquals(CaReloader.Check.TOOK_UP, reloader.check(listener));
    assertEquals(CaReloader.Check.UNCHANGED, reloader.check(listener));
    assertEquals(1, heard.size());
    assertSame(heard.get(0), reloader.current());
    assertEquals(rollover.root(), reloader.ca().rollover().newRoot());
    assertEquals(rollover.tls(), reloader.current().tls().chain().get(0));
    assertEquals(3, reloader.current().tls().chain().size(), "server, new issuing CA, NewWithOld");
  }

  @Test
  void filesThatDoNotLoad_leaveTheMaterialInForce_untilTheyChangeAgain() throws Exception {
    CaReloader.Loaded before = reloader.current();
    Path state = CaRollover.files(dataDir).state();
    Files.writeString(state, "{\"createdAt\": ");

    assertEquals(CaReloader.Check.FAILED, reloader.check(listener));
    assertEquals(CaReloader.Check.UNCHANGED, reloader.check(listener), "reported once, not at every check");
    Files.delete(state);
    assertEquals(CaReloader.Check.UNCHANGED, reloader.check(listener), "back to the files in force");

    assertSame(before, reloader.current());
    assertEquals(List.of(), heard);
  }

  @Test
  void aListenerThatRefusesTheNewMaterial_leavesTheOldInForce() throws Exception {
    CaReloader.Loaded before = reloader.current();
    CaRollover.start(dataDir, Clock.systemUTC().instant(), Duration.ofDays(30), Clock.systemUTC(), TestPki.RANDOM);

    CaReloader.Check check = reloader.check(loaded -> {
      throw new IllegalStateException("cannot switch the TLS certificate");
    });

    assertEquals(CaReloader.Check.FAILED, check);
    assertSame(before, reloader.current());
  }

  @Test
  void aCommandHoldingTheFiles_isWaitedFor_neverHalfRead() throws Exception {
    Path state = CaRollover.files(dataDir).state();
    try (CaFilesLock command = CaFilesLock.acquire(dataDir)) {
      Files.writeString(state, "{\"createdAt\": "); // a command part way through its writes
      assertEquals(CaReloader.Check.BUSY, otherThread.submit(() -> reloader.check(listener)).get());
    }
    assertEquals(CaReloader.Check.FAILED, otherThread.submit(() -> reloader.check(listener)).get());
    assertNotNull(reloader.current());
    assertEquals(List.of(), heard);
  }
}
