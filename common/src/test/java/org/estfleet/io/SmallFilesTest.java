package org.estfleet.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole-file reads that refuse what no small file is, on the real file system. */
class SmallFilesTest {
  @TempDir
  Path dir;

  @Test
  void aDeviceLinkedInPlace_aDirectory_aHugeFile_areRefusedWithAReason() throws Exception {
    Path zero = Files.createSymbolicLink(dir.resolve("agent.json"), Path.of("/dev/zero"));
    Path huge = dir.resolve("state.json");
    try (RandomAccessFile file = new RandomAccessFile(huge.toFile(), "rw")) {
      file.setLength(SmallFiles.MAX_BYTES + 1L); // sparse: no disk used
    }

    assertEquals("not a regular file (a device, a pipe or a socket)",
        assertThrows(IOException.class, () -> SmallFiles.read(zero)).getMessage());
    assertEquals("a directory, not a file", assertThrows(IOException.class, () -> SmallFiles.read(dir)).getMessage());
    assertEquals("16777217 bytes, more than the 16 MiB such a file may hold",
        assertThrows(IOException.class, () -> SmallFiles.read(huge)).getMessage());
    assertThrows(NoSuchFileException.class, () -> SmallFiles.read(dir.resolve("missing")));
  }

  @Test
  void text_isDecodedStrictly_asFilesReadStringDoes() throws Exception {
    Path ascii = Files.writeString(dir.resolve("a.pem"), "-----BEGIN-----\n");
    Path binary = Files.write(dir.resolve("b.pem"), new byte[] {'a', (byte) 0xff});

    assertEquals("-----BEGIN-----\n", SmallFiles.readString(ascii, StandardCharsets.US_ASCII));
    assertArrayEquals("-----BEGIN-----\n".getBytes(StandardCharsets.US_ASCII), SmallFiles.read(ascii));
    assertThrows(MalformedInputException.class, () -> SmallFiles.readString(binary, StandardCharsets.US_ASCII));
  }
}
