package org.estfleet.server.ca;

import java.nio.file.Path;
import org.estfleet.server.config.DataDir;

/**
 * Run in a process of its own by {@link CaReloaderTest}: holds a data directory's CA files lock,
 * as {@code est-server rollover} does while it writes, until its standard input closes.
 */
public final class HoldCaFilesLock {
  private HoldCaFilesLock() {}

  public static void main(String[] args) throws Exception {
    try (CaFilesLock lock = CaFilesLock.acquire(DataDir.open(Path.of(args[0])))) {
      System.out.println("held");
      System.out.flush();
      while (System.in.read() != -1) {
        // until the test closes our input
      }
    }
  }
}
