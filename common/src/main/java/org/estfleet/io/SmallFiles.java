package org.estfleet.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reading a whole file that is small by nature (settings, state, keys, certificates, trust
 * anchors) without trusting it to be: a device, a pipe or a huge file linked in its place (a
 * link to {@code /dev/zero}) is refused with a reason instead of filling the memory.
 */
public final class SmallFiles {
  /** The most such a file may hold: far above any key, chain or state file, far below the heap. */
  public static final int MAX_BYTES = 16 << 20;

  private SmallFiles() {}

  /**
   * The file's bytes.
   *
   * @throws java.nio.file.NoSuchFileException if it is missing
   * @throws IOException if it is not a regular file or holds more than {@link #MAX_BYTES}; the
   *     message does not repeat the path, which callers name
   */
  public static byte[] read(Path file) throws IOException {
    BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
    if (!attributes.isRegularFile()) {
      throw new IOException(attributes.isDirectory() ? "a directory, not a file"
          : "not a regular file (a device, a pipe or a socket)");
    }
    if (attributes.size() > MAX_BYTES) {
      throw new IOException(tooLarge(attributes.size()));
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(MAX_BYTES + 1); // it may have grown since
      if (bytes.length > MAX_BYTES) {
        throw new IOException(tooLarge(bytes.length));
      }
      return bytes;
    }
  }

  /**
   * The file's text, decoded strictly.
   *
   * @throws java.nio.charset.CharacterCodingException if it holds bytes {@code charset} does not
   *     decode, as {@link Files#readString(Path, Charset)} does
   */
  public static String readString(Path file, Charset charset) throws IOException {
    return charset.newDecoder().decode(ByteBuffer.wrap(read(file))).toString();
  }

  private static String tooLarge(long size) {
    return size + " bytes, more than the " + (MAX_BYTES >> 20) + " MiB such a file may hold";
  }
}
