package org.estfleet.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoMessagesTest {
  @TempDir
  Path dir;

  @Test
  void aPathOnlyMessage_getsItsReason_fromTheCause() {
    AccessDeniedException denied = new AccessDeniedException("/x/ca/issuing.key");
    IllegalStateException wrapper = new IllegalStateException("/x/ca/issuing.key: cannot read: /x/ca/issuing.key", denied);

    assertEquals("/x/ca/issuing.key: cannot read: /x/ca/issuing.key (permission denied)",
        IoMessages.withReason(wrapper.getMessage(), wrapper));
    assertEquals("/x/ca/issuing.key (permission denied)", IoMessages.withReason(denied.getMessage(), denied));
    assertEquals("/x: no such file or directory", IoMessages.withReason(null, new NoSuchFileException("/x")));
  }

  @Test
  void aMessageWithItsReason_orWithoutAFileError_isLeftAsItIs() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    FileSystemException real = null;
    try {
      Files.createDirectories(file.resolve("sub"));
    } catch (FileSystemException e) {
      real = e; // "FILE: Not a directory", its reason given
    }
    assertEquals(real.getMessage(), IoMessages.withReason(real.getMessage(), real));
    UncheckedIOException other = new UncheckedIOException("socket closed", new IOException("socket closed"));
    assertEquals("socket closed", IoMessages.withReason("socket closed", other));
  }
}
