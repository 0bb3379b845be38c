package org.estfleet.io;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** A file or directory named on a command line. */
public final class PathText {
  private PathText() {}

  /**
   * Reads {@code text} as a path. An empty or blank one is refused rather than read as the
   * current directory: it is what a script's unset variable gives ({@code --state "$DIR"}), and
   * a state or data directory made there would fill whatever directory the command ran in.
   *
   * @throws IllegalArgumentException saying why it is not a path
   */
  public static Path parse(String text) {
    if (text.isBlank()) {
      throw new IllegalArgumentException("an empty path ('" + text + "'; an unset variable?)");
    }
    try {
      return Path.of(text);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("'" + text + "' is not a path: " + e.getReason());
    }
  }
}
