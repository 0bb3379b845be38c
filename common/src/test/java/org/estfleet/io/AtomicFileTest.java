package org.estfleet.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {
  @Test
  void write_replacesContentAndLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
    Path target = dir.resolve("sub/key.pem");
    AtomicFile.write(target, "old".getBytes(StandardCharsets.UTF_8), AtomicFile.PRIVATE);

    AtomicFile.write(target, "new".getBytes(StandardCharsets.UTF_8), AtomicFile.PRIVATE);

    assertArrayEquals("new".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(target));
    try (Stream<Path> files = Files.list(target.getParent())) {
      assertEquals(1, files.count());
    }
  }

  @Test
  void write_setsPermissionsBeforeContent(@TempDir Path dir) throws Exception {
    Path secret = dir.resolve("secret");
    Path open = dir.resolve("open");

    AtomicFile.write(secret, new byte[] {1}, AtomicFile.PRIVATE);
    AtomicFile.write(open, new byte[] {1}, AtomicFile.PUBLIC);

    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(open)));
  }

  @Test
  void write_keepsOldContentWhenTargetIsADirectory(@TempDir Path dir) throws Exception {
    Path target = dir.resolve("occupied");
    Files.createDirectories(target.resolve("child"));

    java.io.IOException refused = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> AtomicFile.write(target, new byte[] {1}, AtomicFile.PUBLIC));

    // Named by the file being written, not the temporary one beside it.
    assertEquals("cannot write " + target.toAbsolutePath() + ": Is a directory", refused.getMessage());
    assertEquals(true, Files.isDirectory(target.resolve("child")));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(1, files.count(), "the temporary file is cleaned up");
    }
  }
}
