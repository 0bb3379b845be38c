package org.estfleet.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Group commit: write transactions that arrive while one is being written and made durable share
 * the next transaction, so that one commit (one fsync of the write-ahead log) serves all of them.
 * No thread of its own: the first caller to find no write under way writes, taking the queued
 * work of others with its own, and on finishing hands the writing to the first caller still
 * queued. Every caller returns only after the transaction that holds its work has committed, so
 * what it wrote is as durable as with {@link Database#inTransaction}.
 *
 * <p>Within a shared transaction the works run one after another on one connection, each in a
 * savepoint of its own and seeing what the earlier ones wrote: the outcome is that of running them
 * in that order, each in its own transaction. A work that throws is rolled back to its savepoint
 * and its caller gets the failure; the others go on. If the transaction itself fails (it cannot
 * begin or commit), every caller in it gets that failure, as a caller of inTransaction would.
 * Works are never run twice.
 */
final class GroupCommit {
  /** The most works in one transaction: bounds the wait of the last one in it. */
  static final int MAX_WORKS = 64;

  private final Database database;
  private final ReentrantLock lock = new ReentrantLock();
  private final ArrayDeque<Entry<?>> queue = new ArrayDeque<>();
  private boolean writing;

  GroupCommit(Database database) {
    this.database = database;
  }

  private enum State { QUEUED, WRITER, DONE }

  private static final class Entry<T> {
    private final Database.Work<T> work;
    private final Condition changed;
    private State state = State.QUEUED;
    private T result;
    private RuntimeException failure;
    private boolean answered;

    Entry(Database.Work<T> work, Condition changed) {
      this.work = work;
      this.changed = changed;
    }

    /** Runs the work in a savepoint of the transaction on {@code connection}. */
    void runIn(Connection connection) throws SQLException {
      execute(connection, "SAVEPOINT work");
      try {
        result = work.run(connection);
      } catch (SQLException | RuntimeException e) {
        execute(connection, "ROLLBACK TO work");
        failure = e instanceof SQLException ? new StoreException("database write failed: " + e.getMessage(), e)
            : (RuntimeException) e;
      }
      execute(connection, "RELEASE work");
    }

    /** As a prepared statement, which the connection keeps for the next time ({@link StatementCache}). */
    private static void execute(Connection connection, String sql) throws SQLException {
      try (PreparedStatement statement = connection.prepareStatement(sql)) {
        statement.execute();
      }
    }

    void runAlone(Database database) {
      try {
        result = database.inTransaction(work);
      } catch (RuntimeException e) {
        failure = e;
      }
      answered = true;
    }

    T outcome() {
      if (failure != null) {
        throw failure;
      }
      return result;
    }
  }

  /** Runs {@code work} in a transaction it may share; returns once that transaction committed. */
  <T> T run(Database.Work<T> work) {
    Entry<T> mine = new Entry<>(work, lock.newCondition());
    lock.lock();
    try {
      queue.add(mine);
      if (writing) {
        while (mine.state == State.QUEUED) {
          mine.changed.awaitUninterruptibly();
        }
        if (mine.state == State.DONE) {
          return mine.outcome();
        }
      }
      // No write under way (the queue held only this entry), or the finishing writer handed the
      // writing to this entry, the queue's head: either way the next batch starts with it.
      writing = true;
    } finally {
      lock.unlock();
    }
    write();
    return mine.outcome();
  }

  /** Writes the next batch from the queue's head, then hands over to the next queued entry. */
  private void write() {
    List<Entry<?>> batch = new ArrayList<>();
    try {
      lock.lock();
      try {
        while (batch.size() < MAX_WORKS && !queue.isEmpty()) {
          batch.add(queue.poll());
        }
      } finally {
        lock.unlock();
      }
      writeAll(batch);
    } finally {
      lock.lock();
      try {
        for (Entry<?> entry : batch) {
          if (!entry.answered) {
            // Only if writeAll ended with an Error: its callers must not wait forever.
            entry.failure = new StoreException("database write abandoned: the writing thread failed", null);
          }
          entry.state = State.DONE;
          entry.changed.signal();
        }
        Entry<?> next = queue.peek();
        if (next == null) {
          writing = false;
        } else {
          next.state = State.WRITER;
          next.changed.signal();
        }
      } finally {
        lock.unlock();
      }
    }
  }

  private void writeAll(List<Entry<?>> batch) {
    if (batch.size() == 1) {
      batch.get(0).runAlone(database);
      return;
    }
    try {
      database.inTransaction(connection -> {
        for (Entry<?> entry : batch) {
          entry.runIn(connection);
        }
        return null;
      });
    } catch (RuntimeException e) {
      // Beginning or committing failed: each caller learns it, as with a transaction of its own.
      for (Entry<?> entry : batch) {
        entry.failure = e;
      }
    }
    for (Entry<?> entry : batch) {
      entry.answered = true;
    }
  }
}
