package org.estfleet.agent.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.estfleet.agent.AgentException;

/**
 * An exclusive lock on a state directory for the duration of one operation, so that
 * {@code renewal-agent renew} and a running daemon never install over each other. Held only while
 * an attempt runs, whose length the network timeouts bound; a second process waits for it.
 */
public final class StateLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private StateLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  static StateLock acquire(Path root) throws AgentException {
    FileChannel channel = null;
    try {
      channel = FileChannel.open(root.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      return new StateLock(channel, channel.lock());
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
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
