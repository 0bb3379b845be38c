package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.estfleet.io.AtomicFile;
import org.estfleet.io.SmallFiles;

/**
 * A copy of what {@code enroll --force} rewrites before it has reached a server: the settings,
 * the state, the trust files and a kept request. An enrollment that then fails without anything
 * to keep (the server unreachable, not authenticated by {@code --trust}, or refusing) puts it
 * back, so that a device enrolled and renewing is not left with empty trust anchors and another
 * server's URL by a mistyped command. The key and certificate in force are never touched by it.
 */
public final class StateSnapshot {
  private static final List<String> FILES = List.of(StateDir.CONFIG, StateDir.STATE, "trust/anchors.json",
      "trust/anchors.pem", "trust/intermediates.pem", "trust/bootstrap.pem", "pending/key.pem", "pending/csr.der",
      "pending/token");

  /** A file's bytes and mode, or (a symbolic link, say to a managed agent.json) the link's target. */
  private record Copy(byte[] bytes, Set<PosixFilePermission> mode, Path link) {}

  private final Path root;
  /** Each file's copy, or null where there was none. */
  private final Map<String, Copy> copies;

  private StateSnapshot(Path root, Map<String, Copy> copies) {
    this.root = root;
    this.copies = copies;
  }

  /** Copies the files of {@code dir} that {@code enroll --force} rewrites; call under its lock. */
  public static StateSnapshot take(StateDir dir) throws IOException {
    Map<String, Copy> copies = new LinkedHashMap<>();
    for (String name : FILES) {
      Path file = dir.resolve(name);
      if (Files.isSymbolicLink(file)) {
        copies.put(name, new Copy(null, null, Files.readSymbolicLink(file)));
      } else if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        Set<PosixFilePermission> mode;
        try {
          mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
          mode = AtomicFile.PRIVATE;
        }
        copies.put(name, new Copy(SmallFiles.read(file), mode, null));
      } else {
        copies.put(name, null);
      }
    }
    return new StateSnapshot(dir.root(), copies);
  }

  /** Puts every file back as it was (removing those there was none of); call under the lock. */
  public void restore() throws IOException {
    for (Map.Entry<String, Copy> entry : copies.entrySet()) {
      Path file = root.resolve(entry.getKey());
      Copy copy = entry.getValue();
      if (copy == null) {
        Files.deleteIfExists(file);
      } else if (copy.link() != null) {
        // The link as it was (what it points to was not written: enroll writes a file in its place).
        if (!Files.isSymbolicLink(file) || !Files.readSymbolicLink(file).equals(copy.link())) {
          Files.deleteIfExists(file);
          Files.createSymbolicLink(file, copy.link());
        }
      } else {
        AtomicFile.write(file, copy.bytes(), copy.mode());
      }
    }
  }
}
