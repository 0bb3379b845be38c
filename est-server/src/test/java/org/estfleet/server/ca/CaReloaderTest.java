package org.estfleet.server.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
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
  void filesThatDoNotLoad_leaveTheMaterialInForce_andAreTriedAgain() throws Exception {
    CaReloader.Loaded before = reloader.current();
    Path state = CaRollover.files(dataDir).state();
    Files.writeString(state, "{\"createdAt\": ");

    assertEquals(CaReloader.Check.FAILED, reloader.check(listener));
    assertEquals(CaReloader.Check.FAILED, reloader.check(listener), "tried again (logged once)");
    assertTrue(reloader.failure().orElseThrow().contains("rollover"), reloader.failure().orElseThrow());
    Files.delete(state);
    assertEquals(CaReloader.Check.UNCHANGED, reloader.check(listener), "back to the files in force");
    assertEquals(Optional.empty(), reloader.failure());

    assertSame(before, reloader.current());
    assertEquals(List.of(), heard);
  }

  @Test
  void aListenerThatRefusesTheNewMaterial_leavesTheOldInForce_andTheNextCheckTriesAgain() throws Exception {
    CaReloader.Loaded before = reloader.current();
    CaRollover.start(dataDir, Clock.systemUTC().instant(), Duration.ofDays(30), Clock.systemUTC(), TestPki.RANDOM);

    CaReloader.Check refused = reloader.check(loaded -> {
      throw new IllegalStateException("cannot switch the TLS certificate");
    });
    CaReloader.Loaded stillBefore = reloader.current();

    assertEquals(CaReloader.Check.FAILED, refused);
    assertSame(before, stillBefore);
    assertTrue(reloader.failure().isPresent());
    assertEquals(CaReloader.Check.TOOK_UP, reloader.check(listener));
    assertNotNull(reloader.ca().rollover());
    assertEquals(Optional.empty(), reloader.failure(), "taken up: nothing waits any more");
  }

  @Test
  void aChangeToAnyFileItReads_isSeen_aKeyReplacedAlone_too() throws Exception {
    Path key = dataDir.resolve(dataDir.config().ca().issuingKey());
    byte[] good = Files.readAllBytes(key);
    Files.writeString(key, Pem.encodePrivateKey(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM).getPrivate()));

    assertEquals(CaReloader.Check.FAILED, reloader.check(listener), "a key that is not the issuing CA's");
    Files.write(key, good); // the operator puts the right key back

    assertEquals(CaReloader.Check.UNCHANGED, reloader.check(listener), "the files in force again");
    Files.writeString(key, Pem.encodePrivateKey(KeyAlgorithm.EC_P256.generate(TestPki.RANDOM).getPrivate()));
    assertEquals(CaReloader.Check.FAILED, reloader.check(listener), "and a wrong one again is seen again");
    assertEquals(List.of(), heard);
  }

  @Test
  void aCommandInAnotherProcess_holdingTheFiles_isWaitedFor() throws Exception {
    Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), HoldCaFilesLock.class.getName(), dir.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      while (line != null && !line.equals("held")) {
        line = out.readLine(); // a JVM's notes on its options, say
      }
      assertEquals("held", line);
      Files.writeString(CaRollover.files(dataDir).state(), "{\"createdAt\": ");

      assertEquals(CaReloader.Check.BUSY, reloader.check(listener));
      holder.getOutputStream().close();
      assertTrue(holder.waitFor(30, TimeUnit.SECONDS), "the holder ends when its input closes");
      assertEquals(CaReloader.Check.FAILED, reloader.check(listener));
    } finally {
      holder.destroyForcibly();
    }
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
