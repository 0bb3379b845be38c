package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.estfleet.agent.AgentException;
import org.estfleet.io.ProcessLock;

/**
 * An exclusive lock on a state directory for the duration of one operation, so that
 * {@code renewal-agent renew} and a running daemon never install over each other. Held only while
 * an attempt runs, whose length the network timeouts bound; a second process waits for it.
 *
 * <p>The thread that holds it may take it again (an operation made of steps that each lock, as
 * {@code enroll} resetting the state and then enrolling): the directory is released when the
 * outermost hold closes. Another thread of the same process is refused at once.
 */
public final class StateLock implements AutoCloseable {
  private static final Map<Path, Held> HELD = new ConcurrentHashMap<>();
  /** The daemon locks this process holds, kept reachable: a collected channel would release its lock. */
  private static final Set<ProcessLock> DAEMONS = ConcurrentHashMap.newKeySet();

  /** The file lock and who holds it how many times; changed only by its owner. */
  private static final class Held {
    final Thread owner = Thread.currentThread();
    final FileChannel channel;
    final FileLock lock;
    int depth = 1;

    Held(FileChannel channel, FileLock lock) {
      this.channel = channel;
      this.lock = lock;
    }
  }

  private final Path file;
  private final Held held;
  private boolean closed;

  private StateLock(Path file, Held held) {
    this.file = file;
    this.held = held;
  }

  /**
   * Takes the directory for {@code renewal-agent run} until this process exits: a second daemon
   * on the same directory is refused at once, naming the process that holds it. Kept on
   * {@code .run.lock}, apart from the lock of each operation, so that {@code renew} and
   * {@code status} still work beside a daemon. The operating system releases it when the process
   * ends, however it ends; the process id in the file is only for the message.
   */
  static void holdForDaemon(Path root) throws AgentException {
    Path file = root.resolve(".run.lock");
    Optional<ProcessLock> held = tryHold(file);
    if (held.isEmpty()) {
      if (ProcessLock.heldHere(file)) {
        throw AgentException.usage("--state " + root + " is given twice");
      }
      throw AgentException.failure(root + " is already in use by another renewal-agent run"
          + ProcessLock.describeHolder(file) + "; one daemon per state directory");
    }
    DAEMONS.add(held.get());
  }

  /**
   * Holds {@code .run.lock} for a command that must not run beside a daemon ({@code enroll
   * --force}: the daemon would keep the replaced certificate's schedule), so that none starts
   * meanwhile either.
   *
   * @throws AgentException exit 1 naming the daemon's process if one holds the directory
   */
  static ProcessLock keepDaemonOut(Path root, String command) throws AgentException {
    Path file = root.resolve(".run.lock");
    Optional<ProcessLock> held = tryHold(file);
    if (held.isEmpty()) {
      throw AgentException.failure(root + " is in use by renewal-agent run" + ProcessLock.describeHolder(file)
          + ", which would go on with the old certificate's schedule: stop it, " + command + ", then start it again");
    }
    return held.get();
  }

  private static Optional<ProcessLock> tryHold(Path file) throws AgentException {
    try {
      return ProcessLock.tryHold(file);
    } catch (IOException e) {
      throw AgentException.failure("cannot lock " + file + ": " + e.getMessage(), e);
    }
  }

  static StateLock acquire(Path root) throws AgentException {
    Path file = root.resolve(".lock").toAbsolutePath().normalize();
    Held mine = HELD.get(file);
    if (mine != null && mine.owner == Thread.currentThread()) {
      mine.depth++;
      return new StateLock(file, mine);
    }
    FileChannel channel = null;
    try {
      channel = FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
          org.estfleet.io.AtomicFile.attributes(org.estfleet.io.AtomicFile.PUBLIC));
      Held held = new Held(channel, channel.lock());
      HELD.put(file, held);
      return new StateLock(file, held);
    } catch (OverlappingFileLockException e) {
      close(channel);
      throw AgentException.failure(root + " is in use by another agent in this process");
    } catch (IOException e) {
      close(channel);
      throw AgentException.failure("cannot lock " + root + ": " + e.getMessage(), e);
    }
  }

  private static void close(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing a channel that failed to lock: nothing to report
      }
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (--held.depth > 0) {
      return;
    }
    HELD.remove(file, held);
    try {
      held.lock.release();
    } finally {
      held.channel.close();
    }
  }
}
