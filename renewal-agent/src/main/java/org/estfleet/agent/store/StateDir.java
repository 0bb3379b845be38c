package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.estfleet.agent.AgentException;
import org.estfleet.io.AtomicFile;
import org.estfleet.io.SmallFiles;
import org.estfleet.json.Json;

/**
 * The agent's state directory: {@code agent.json} (settings), {@code state.json} (what it
 * remembers), the credentials ({@code key.pem}, {@code cert.pem}, {@code chain.pem}), the trust
 * anchors ({@code trust/}) and a pending enrollment ({@code pending/}). Everything in it is
 * written atomically; nothing in it may be writable by others.
 */
public final class StateDir {
  public static final String CONFIG = "agent.json";
  public static final String STATE = "state.json";
  /** This process's effective user id (read once: it does not change), or null off Linux. */
  private static final Integer EFFECTIVE_UID = effectiveUid();

  private final Path root;

  private StateDir(Path root) {
    this.root = root;
  }

  /**
   * Opens an existing state directory.
   *
   * @throws AgentException exit 3 if it does not exist or holds no configuration (never
   *     enrolled), exit 2 if others can write to it
   */
  public static StateDir open(Path root) throws AgentException {
    Path absolute = root.toAbsolutePath().normalize();
    if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
      throw AgentException.usage(root + " is a file, not a state directory");
    }
    if (!Files.isDirectory(absolute) || !Files.exists(absolute.resolve(CONFIG))) {
      if (Files.exists(absolute.resolve("current"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        // A certificate in force without its settings (agent.json deleted, or lost with a disk):
        // not a device that never enrolled, which enroll without --force would refuse as enrolled.
        throw AgentException.usage(root + " holds a certificate but no " + CONFIG + ": restore it (its settings: "
            + "identity, endpoints, label), or enroll again with renewal-agent enroll --force --state " + root);
      }
      throw AgentException.notEnrolled(root + " is not an enrolled state directory; run: renewal-agent enroll --state " + root);
    }
    checkPermissions(absolute);
    return new StateDir(absolute);
  }

  /** Creates the directory (mode 0700) if needed, for a first enrollment. */
  public static StateDir create(Path root) throws AgentException {
    Path absolute = root.toAbsolutePath().normalize();
    try {
      if (!Files.exists(absolute)) {
        Files.createDirectories(absolute, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } else if (!Files.isDirectory(absolute)) {
        throw AgentException.usage(root + " is a file, not a state directory");
      }
    } catch (IOException e) {
      throw AgentException.usage("cannot create state directory " + root + ": " + e.getMessage(), e);
    }
    checkPermissions(absolute);
    return new StateDir(absolute);
  }

  /**
   * A state directory others can write to could have its keys or trust anchors replaced: refuse
   * it rather than trust anything in it.
   */
  private static void checkPermissions(Path directory) throws AgentException {
    Set<PosixFilePermission> top = permissions(directory);
    if (top == null) {
      return; // not a POSIX file system: nothing to check
    }
    refuseWritable(directory, top, true, true, "chmod 700 " + directory);
    refuseForeignOwner(directory);
    // Inside a directory others may enter (0755, say), what the agent trusts or runs must not be
    // theirs to change either: agent.json names the post-renewal hook's command, trust/ the roots
    // the server is authenticated by. Inside a 0700 directory nobody else reaches them, unless
    // they are linked in from elsewhere: then whoever reaches them there may change them.
    boolean group = top.contains(PosixFilePermission.GROUP_EXECUTE);
    boolean others = top.contains(PosixFilePermission.OTHERS_EXECUTE);
    Path realRoot = realPath(directory);
    for (String name : List.of(CONFIG, STATE, "trust", "trust/anchors.json", "trust/anchors.pem",
        "trust/bootstrap.pem", "trust/intermediates.pem", "credentials", "pending", "current",
        "current/" + CredentialStore.KEY, "current/" + CredentialStore.CERTIFICATE, "current/" + CredentialStore.CHAIN)) {
      Path inside = directory.resolve(name);
      Path real = Files.exists(inside) ? realPath(inside) : null;
      boolean elsewhere = real != null && realRoot != null && !real.startsWith(realRoot);
      if (!group && !others && !elsewhere || real != null && !Files.isRegularFile(real) && !Files.isDirectory(real)) {
        continue; // a device or a pipe in a file's place: its reading refuses it
      }
      Set<PosixFilePermission> permissions = real != null ? permissions(inside) : null;
      if (permissions != null) {
        refuseWritable(inside, permissions, group || elsewhere, others || elsewhere, elsewhere
            ? "chmod go-w " + real : "chmod go-w " + inside + " (or chmod 700 " + directory + ")");
        refuseForeignOwner(inside);
      }
      if (elsewhere || Files.isSymbolicLink(inside) && !name.equals("current")) {
        // A file kept elsewhere and linked in: whoever may replace it in its own directory could too.
        try {
          Path holder = inside.toRealPath().getParent();
          Set<PosixFilePermission> where = permissions(holder);
          if (where != null && !sticky(holder)) { // in a sticky directory (/tmp) only the owner replaces a file
            refuseWritable(holder, where, true, true, "chmod go-w " + holder + " (it holds " + inside.toRealPath() + ")");
            refuseForeignOwner(holder);
          }
        } catch (IOException e) {
          // a dangling link: the file's own reading says so
        }
      }
    }
  }

  /**
   * Whoever owns a file may change its permissions and then the file: what the agent trusts must
   * be its own user's, or root's.
   */
  private static void refuseForeignOwner(Path path) throws AgentException {
    String owner;
    boolean mine;
    Integer me = EFFECTIVE_UID;
    try {
      owner = Files.getOwner(path).getName();
      // By user id where the platform says (a user without a name, in a container, say).
      Integer uid = me == null ? null : (Integer) Files.getAttribute(path, "unix:uid");
      mine = uid != null ? uid == 0 || uid.equals(me) : owner.equals("root") || owner.equals(System.getProperty("user.name"));
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return; // no owners on this file system
    } catch (IOException e) {
      throw AgentException.usage("cannot read the owner of " + path + ": " + e.getMessage(), e);
    }
    if (mine) {
      return;
    }
    String name = System.getProperty("user.name");
    // A user without a name (a container's numeric user) is named by its id.
    String who = name == null || name.isEmpty() || name.equals("?") ? String.valueOf(me) : name;
    boolean root = me != null ? me == 0 : "root".equals(name);
    throw AgentException.usage(path + " is owned by " + owner + ", who could change it, and the agent runs as " + who
        + (root ? "; run the agent as " + owner + " (root running it would run that user's postRenewHook): sudo -u "
            + owner + " renewal-agent ..." : "; make it the agent's: chown " + who + " " + path));
  }

  /** Where {@code path} really is, links followed; null if that cannot be told (a dangling link). */
  private static Path realPath(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException e) {
      return null; // the file's own reading says what is wrong
    }
  }

  /** This process's effective user id, from /proc/self/status (Linux), or null. */
  private static Integer effectiveUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return Integer.valueOf(line.substring(4).trim().split("\\s+")[1]); // real, effective, saved, fs
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: names are compared
    }
    return null;
  }

  /** Whether a directory has the sticky bit, where the platform says (Linux, through the unix view). */
  private static boolean sticky(Path directory) {
    try {
      return (((Integer) Files.getAttribute(directory, "unix:mode")) & 01000) != 0;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
      return false;
    }
  }

  /** {@code path}'s permissions (of what a link leads to: a link's own mode means nothing), or null off POSIX. */
  private static Set<PosixFilePermission> permissions(Path path) throws AgentException {
    try {
      return Files.getPosixFilePermissions(path);
    } catch (UnsupportedOperationException e) {
      return null;
    } catch (IOException e) {
      throw AgentException.usage("cannot read permissions of " + path + ": " + e.getMessage(), e);
    }
  }

  private static void refuseWritable(Path path, Set<PosixFilePermission> permissions, boolean group, boolean others,
      String fix) throws AgentException {
    boolean byOthers = others && permissions.contains(PosixFilePermission.OTHERS_WRITE);
    boolean byGroup = group && permissions.contains(PosixFilePermission.GROUP_WRITE);
    if (byOthers || byGroup) {
      throw AgentException.usage(path + " is writable by " + (byOthers ? "everyone" : "its group") + " ("
          + PosixFilePermissions.toString(permissions) + "); make it private: " + fix);
    }
  }

  public Path root() {
    return root;
  }

  public Path resolve(String name) {
    return root.resolve(name);
  }

  public CredentialStore credentials() {
    return new CredentialStore(root);
  }

  public TrustStore trust() {
    return new TrustStore(root.resolve("trust"));
  }

  public PendingStore pending() {
    return new PendingStore(root.resolve("pending"));
  }

  /** Locks the directory for one operation; waits while another process holds it. */
  public StateLock lock() throws AgentException {
    return StateLock.acquire(root);
  }

  /**
   * Takes the directory for a daemon ({@code renewal-agent run}) until the process exits.
   *
   * @throws AgentException exit 1 if another daemon holds it
   */
  public void holdForDaemon() throws AgentException {
    StateLock.holdForDaemon(root);
  }

  /**
   * Keeps daemons out of the directory while the returned lock is held (see
   * {@link StateLock#keepDaemonOut}).
   *
   * @throws AgentException exit 1 if a daemon holds it
   */
  public org.estfleet.io.ProcessLock keepDaemonOut(String command) throws AgentException {
    return StateLock.keepDaemonOut(root, command);
  }

  /**
   * A warning if the private key in force can be read by every user of the device (others may
   * read it, through links, and enter every directory above it), or empty. Not a refusal: the
   * daemon must go on renewing, and its next key is written private; group read is left alone
   * (a group such as ssl-cert may be how a local service reads the key).
   */
  public Optional<String> exposedKey() {
    Path key = root.resolve("current").resolve(CredentialStore.KEY);
    try {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(key);
      if (!permissions.contains(PosixFilePermission.OTHERS_READ)) {
        return Optional.empty();
      }
      Path real = key.toRealPath();
      for (Path directory = real.getParent(); directory != null; directory = directory.getParent()) {
        if (!Files.getPosixFilePermissions(directory).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          return Optional.empty(); // out of others' reach (the agent makes its key directories rwx------)
        }
      }
      return Optional.of("the private key " + real + " is readable by everyone ("
          + PosixFilePermissions.toString(permissions) + "); chmod o-r " + real);
    } catch (IOException | UnsupportedOperationException e) {
      // no key, or no POSIX modes: nothing to say here (reading the pair says what is wrong)
    }
    return Optional.empty();
  }

  /** Whether {@code agent.json} exists. */
  public boolean hasConfig() {
    return Files.exists(root.resolve(CONFIG));
  }

  /** Reads {@code agent.json}; exit 2 with the file and the problem if it is invalid. */
  public AgentConfig readConfig() throws AgentException {
    Path file = root.resolve(CONFIG);
    try {
      return Json.parse(SmallFiles.readString(file, StandardCharsets.UTF_8), AgentConfig.class, file.toString());
    } catch (NoSuchFileException e) {
      throw AgentException.notEnrolled(file + " is missing; run renewal-agent enroll first");
    } catch (IOException e) {
      throw AgentException.usage("cannot read " + file + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw AgentException.usage(e.getMessage(), e);
    }
  }

  public void writeConfig(AgentConfig config) throws IOException {
    AtomicFile.write(root.resolve(CONFIG), Json.write(config).getBytes(StandardCharsets.UTF_8), AtomicFile.PRIVATE);
  }

  /**
   * Reads {@code state.json}; a missing file is a fresh state. A corrupt one (which atomic
   * writes prevent, but a disk can still damage) is reported and replaced by a fresh state: it
   * holds only scheduling hints, and the certificate and any pending request live elsewhere.
   */
  public AgentState readState() throws AgentException {
    Path file = root.resolve(STATE);
    try {
      return Json.parse(SmallFiles.readString(file, StandardCharsets.UTF_8), AgentState.class, file.toString());
    } catch (NoSuchFileException e) {
      return AgentState.initial();
    } catch (java.nio.charset.CharacterCodingException | IllegalArgumentException e) {
      return unreadableState(file, e);
    } catch (IOException e) {
      throw AgentException.failure("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * A fresh state in place of an unreadable one (which atomic writes prevent, but a disk can still
   * damage): the damaged file is kept beside it for inspection, and a request in flight in
   * {@code pending/} is kept as the pending request, so that it is sent again as it was (a gateway
   * matches it by its key; a used token's retry by its key too) rather than dropped for a new one.
   */
  private AgentState unreadableState(Path file, Exception e) throws AgentException {
    Path kept = root.resolve(STATE + ".unreadable");
    boolean keptBefore;
    try {
      // Read again and again until the next write replaces it (status, run's status file): kept
      // and said once, not at every reading.
      keptBefore = Files.isRegularFile(kept) && java.util.Arrays.equals(SmallFiles.read(kept), SmallFiles.read(file));
      if (!keptBefore) {
        Files.copy(file, kept, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException copy) {
      throw AgentException.failure(file + " is unreadable and cannot be kept as " + kept + ": " + copy.getMessage(), copy);
    }
    AgentState fresh = AgentState.initial();
    AgentState.Pending recovered = null;
    try {
      var request = pending().load();
      if (request.isPresent()) {
        String credential = request.get().token() != null ? "token"
            : credentials().current().isPresent() ? "certificate" : "idevid";
        recovered = new AgentState.Pending(Files.getLastModifiedTime(root.resolve("pending")).toInstant(), null, null,
            "certificate".equals(credential) ? "simplereenroll" : "simpleenroll", credential, false);
        fresh = fresh.withPending(recovered);
      }
    } catch (IOException | RuntimeException unreadable) {
      // No complete request to keep: the next attempt makes a new one.
    }
    if (!keptBefore) {
      org.slf4j.LoggerFactory.getLogger(StateDir.class).warn("{} is unreadable ({}); kept as {}; starting from a fresh "
          + "state{}", file, e.getMessage(), kept, recovered == null ? "" : ", with the request in pending/ to send again");
    }
    return fresh;
  }

  public void writeState(AgentState state) throws IOException {
    AtomicFile.write(root.resolve(STATE), Json.write(state).getBytes(StandardCharsets.UTF_8), AtomicFile.PRIVATE);
  }
}
