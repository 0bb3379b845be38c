package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
  /** The daemon locks this process holds, kept reachable: a collected channel would release its lock. */
  private static final Map<Path, FileLock> DAEMONS = new ConcurrentHashMap<>();

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
    Path file = root.resolve(".run.lock").toAbsolutePath().normalize();
    FileChannel channel = null;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        String holder = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII).strip();
        close(channel);
        throw AgentException.failure(root + " is already in use by another renewal-agent run"
            + (holder.matches("[0-9]{1,10}") ? " (pid " + holder + ")" : "") + "; one daemon per state directory");
      }
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n")
          .getBytes(StandardCharsets.US_ASCII)));
      DAEMONS.put(file, lock);
    } catch (OverlappingFileLockException e) {
      close(channel);
      throw AgentException.usage("--state " + root + " is given twice");
    } catch (IOException e) {
      close(channel);
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
