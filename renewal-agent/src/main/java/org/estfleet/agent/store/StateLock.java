package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.estfleet.agent.AgentException;

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

  static StateLock acquire(Path root) throws AgentException {
    Path file = root.resolve(".lock").toAbsolutePath().normalize();
    Held mine = HELD.get(file);
    if (mine != null && mine.owner == Thread.currentThread()) {
      mine.depth++;
      return new StateLock(file, mine);
    }
    FileChannel channel = null;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
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
