package org.estfleet.server.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.locks.ReentrantLock;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The embedded SQLite database: a small connection pool, and the schema brought up to date by
 * Flyway when opened. Writes are durable when {@link #inTransaction} returns: WAL journal with
 * {@code synchronous=FULL} fsyncs every commit. Write transactions start with
 * {@code BEGIN IMMEDIATE}, so concurrent writers queue on the busy timeout instead of failing
 * when a read lock cannot be upgraded. Each connection keeps the statements prepared on it for
 * the next use ({@link StatementCache}).
 */
public final class Database implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Database.class);
  private static final Duration BUSY_TIMEOUT = Duration.ofSeconds(10);
  /** SQLite's primary result code for a database locked by another connection past the busy timeout. */
  private static final int SQLITE_BUSY = 5;
  /** Flyway's table of applied migrations: in every database est-server made. */
  private static final String SCHEMA_HISTORY = "flyway_schema_history";
  /** The tables the migrations create (DatabaseTest checks the list against a migrated database). */
  static final java.util.Set<String> TABLES = java.util.Set.of("answered_count", "bootstrap_token",
      "issued_certificate", "pending_count", "pending_enrollment", "revoked_certificate", "revoked_device",
      "upstream_cache");

  private final HikariDataSource pool;
  /**
   * This process's write transactions take turns in the order they ask, rather than polling
   * SQLite's busy handler (sleeps of 1 to 100 ms), at which a steady stream of issuance batches
   * would let a token or pending-enrollment write wait for long. Other processes (the
   * {@code token} command) still wait on the busy handler.
   */
  private final ReentrantLock writes = new ReentrantLock(true);
  private final GroupCommit groupCommit = new GroupCommit(this);

  private Database(HikariDataSource pool) {
    this.pool = pool;
  }

  /**
   * Work that runs on one connection and may fail with an SQL error. Work given to
   * {@link #inTransaction} or {@link #inSharedTransaction} runs inside a transaction that this
   * class begins and ends: it must not begin, commit or roll back one itself (savepoints are
   * fine), nor change the connection's auto-commit mode.
   */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * Opens the database file that {@code est-server init} created, and migrates its schema.
   * A missing or empty file is refused rather than created: a server started on a new, empty
   * database (a wrong {@code database.file}, a volume not mounted, a file lost) would report
   * itself healthy and refuse every device's re-enrollment, its issuance records gone.
   *
   * @throws StoreException if the file is missing or empty, or cannot be opened or migrated
   */
  public static Database openExisting(Path file) {
    return open(requireExisting(file), true);
  }

  /**
   * The database file {@code est-server init} created, checked to be there and not empty, as
   * {@link #openExisting} does: for a command that must know before it writes anything else.
   *
   * @return its absolute path
   * @throws StoreException if the file is missing or empty
   */
  public static Path requireExisting(Path file) {
    Path absolute = file.toAbsolutePath();
    long size;
    try {
      size = Files.size(absolute);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new StoreException("database " + absolute + " does not exist (database.file in server.json): est-server "
          + "init creates it; if it was moved or lost, put it back or restore it from a backup", e);
    } catch (java.io.IOException e) {
      throw new StoreException("cannot read database " + absolute + ": " + e.getMessage(), e);
    }
    if (size == 0) {
      throw new StoreException("database " + absolute + " is empty (0 bytes), not the one est-server init created; "
          + "restore it from a backup", null);
    }
    return absolute;
  }

  /**
   * Opens (creating if needed) the database file and migrates its schema: for {@code init},
   * which creates it; everything else opens it with {@link #openExisting}.
   *
   * @throws StoreException if the file cannot be opened or migrated
   */
  public static Database open(Path file) {
    return open(file, false);
  }

  /** @param existing whether the file must be one init created: a database without tables is refused */
  private static Database open(Path file, boolean existing) {
    Path absolute = file.toAbsolutePath();
    try {
      Files.createDirectories(absolute.getParent());
    } catch (java.io.IOException e) {
      throw new StoreException("cannot create directory for " + absolute + ": " + e.getMessage(), e);
    }
    refuseForeign(absolute, existing);
    Properties sqlite = new Properties();
    sqlite.setProperty("journal_mode", "WAL");
    sqlite.setProperty("synchronous", "FULL");
    sqlite.setProperty("foreign_keys", "true");
    sqlite.setProperty("busy_timeout", String.valueOf(BUSY_TIMEOUT.toMillis()));
    // Flyway's transactions; this class issues BEGIN IMMEDIATE itself (see transaction).
    sqlite.setProperty("transaction_mode", "IMMEDIATE");
    // Else the driver compiles and runs SELECT last_insert_rowid() after every INSERT, asked or
    // not; an insert that needs its row id says RETURNING.
    sqlite.setProperty("jdbc.get_generated_keys", "false");
    SQLiteDataSource files = new SQLiteDataSource(new SQLiteConfig(sqlite));
    files.setUrl("jdbc:sqlite:" + absolute);
    StatementCache statements = new StatementCache(files);
    HikariConfig config = new HikariConfig();
    config.setPoolName("estfleet-db");
    config.setDataSource(statements);
    config.setMaximumPoolSize(8);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(BUSY_TIMEOUT.toMillis());
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(config);
    } catch (RuntimeException e) {
      throw new StoreException("cannot open database " + absolute + ": " + rootMessage(e), e);
    }
    try {
      Flyway flyway = Flyway.configure()
          .dataSource(pool)
          .locations("classpath:db/migration")
          .load();
      refuseNewer(flyway, absolute);
      flyway.migrate();
    } catch (FlywayException e) {
      pool.close();
      throw new StoreException("cannot migrate database " + absolute + ": " + rootMessage(e), e);
    } catch (StoreException e) {
      pool.close();
      throw e;
    }
    statements.keepStatements();
    try {
      refuseIncomplete(pool, absolute);
      checkWritable(pool, absolute);
    } catch (StoreException e) {
      pool.close();
      throw e;
    }
    return new Database(pool);
  }

  /**
   * Refuses an SQLite file with tables but without est-server's schema history: another
   * program's database ({@code database.file} naming the wrong file). Checked on a read-only
   * connection before the pool opens the file, since the pool's WAL mode would rewrite its
   * header. A file that is not readable as a database is left to the pool, which says why.
   */
  private static void refuseForeign(Path file, boolean existing) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) == 0) {
        return;
      }
    } catch (java.io.IOException e) {
      return; // the pool's open says why
    }
    SQLiteConfig readOnly = new SQLiteConfig();
    readOnly.setReadOnly(true);
    java.util.List<String> tables = new java.util.ArrayList<>();
    try (Connection connection = readOnly.createConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    } catch (SQLException e) {
      return; // not readable as a database: the pool's open says why
    }
    if (existing && tables.isEmpty()) {
      throw new StoreException("database " + file + " has no tables: it is not the database est-server init created "
          + "(does database.file in server.json name another file?), or it was emptied; restore it from a backup. "
          + "Left unchanged", null);
    }
    if (!tables.isEmpty() && !tables.contains(SCHEMA_HISTORY)) {
      throw new StoreException("database " + file + " is not an est-server database (its tables: "
          + String.join(", ", tables.subList(0, Math.min(5, tables.size()))) + (tables.size() > 5 ? ", ..." : "")
          + "; no est-server schema history): does database.file in server.json name another program's file? "
          + "Left unchanged", null);
    }
  }

  /**
   * Refuses a database whose schema history says it is migrated but which lacks one of the
   * tables the migrations create (a table dropped by hand, a damaged file): every request would
   * fail on it, and {@code /health} with it.
   */
  private static void refuseIncomplete(HikariDataSource pool, Path file) {
    java.util.Set<String> missing = new java.util.TreeSet<>(TABLES);
    try (Connection connection = pool.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'")) {
      while (rows.next()) {
        missing.remove(rows.getString(1));
      }
    } catch (SQLException e) {
      throw new StoreException("cannot read database " + file + ": " + e.getMessage(), e);
    }
    if (!missing.isEmpty()) {
      throw new StoreException("database " + file + " lacks the table(s) " + String.join(", ", missing)
          + " its schema history says it has: it was damaged or edited; restore it from a backup", null);
    }
  }

  /**
   * Refuses a database a newer est-server has migrated beyond this one's schema: writing to it
   * with the older code could corrupt what the newer one stored. (Flyway would only warn.)
   */
  private static void refuseNewer(Flyway flyway, Path file) {
    String newest = null;
    String known = "0";
    for (org.flywaydb.core.api.MigrationInfo migration : flyway.info().all()) {
      if (migration.getVersion() == null) {
        continue;
      }
      if (migration.getState().name().startsWith("FUTURE")) {
        newest = migration.getVersion().getVersion();
      } else {
        known = migration.getVersion().getVersion();
      }
    }
    if (newest != null) {
      throw new StoreException("database " + file + " was migrated by a newer est-server (schema version " + newest
          + "; this one knows up to " + known + "): run that version, or restore a backup made with this one", null);
    }
  }

  /**
   * Writes the header's user version (as it is) in a transaction and rolls it back. SQLite opens
   * a file it may not write (its mode, its owner, a read-only mount) read-only without a word, a
   * migrated schema needs no write, and in WAL mode even BEGIN IMMEDIATE succeeds on such a file:
   * without this, a server would start and then fail every enrollment and forward.
   */
  private static void checkWritable(HikariDataSource pool, Path file) {
    try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
      int version;
      try (ResultSet row = statement.executeQuery("PRAGMA user_version")) {
        version = row.next() ? row.getInt(1) : 0;
      }
      statement.execute("BEGIN IMMEDIATE");
      try {
        statement.execute("PRAGMA user_version = " + version);
      } catch (SQLException e) {
        try {
          statement.execute("ROLLBACK");
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      }
      statement.execute("ROLLBACK");
    } catch (SQLException e) {
      pool.close();
      if ((e.getErrorCode() & 0xff) == SQLITE_BUSY) {
        throw new StoreException("database " + file + " stayed busy for " + BUSY_TIMEOUT.toSeconds()
            + " s (another process writing to it); try again", e);
      }
      throw new StoreException("database " + file + " cannot be written (" + rootMessage(e)
          + "): check the file's owner and mode, and that its directory and file system are writable", e);
    }
  }

  /** Runs {@code work} in one transaction, committed if it returns, rolled back if it throws. */
  public <T> T inTransaction(Work<T> work) {
    writes.lock();
    try {
      return transaction(work);
    } finally {
      writes.unlock();
    }
  }

  /**
   * BEGIN IMMEDIATE, the work, COMMIT, issued as statements on a connection left in JDBC's
   * auto-commit mode. The driver's own transactions (auto-commit off) are not used: its
   * {@code commit()} runs COMMIT and then at once BEGIN for a next transaction, which waits for
   * any other process holding the write lock (the {@code token} command) and, when that wait
   * fails, makes {@code commit()} throw although the transaction was committed: the caller would
   * be told that a durable issuance failed.
   */
  private <T> T transaction(Work<T> work) {
    boolean committed = false;
    T result = null;
    try (Connection connection = pool.getConnection(); PreparedStatement begin = connection.prepareStatement("BEGIN IMMEDIATE");
        PreparedStatement commit = connection.prepareStatement("COMMIT")) {
      begin.execute();
      try {
        result = work.run(connection);
        commit.execute();
        committed = true;
      } catch (Throwable e) {
        // Errors too: a connection left inside the transaction would keep the write lock.
        rollback(connection, e);
        throw e;
      }
    } catch (SQLException e) {
      if (!committed) {
        throw new StoreException("database write failed: " + e.getMessage(), e);
      }
      // Closing failed after the commit: the write is durable, and the caller is told so.
      LOG.warn("committed, but closing the database connection failed: {}", e.getMessage());
    }
    return result;
  }

  /**
   * Ends a failed transaction. After a failed COMMIT it may still be open (SQLite keeps it open
   * on SQLITE_BUSY and on a deferred constraint) or already rolled back (an I/O error); a
   * connection that cannot be rolled back is closed instead of pooled, so that no pooled
   * connection holds the write lock or a half-done transaction.
   */
  private void rollback(Connection connection, Throwable cause) {
    try (Statement control = connection.createStatement()) {
      control.execute("ROLLBACK");
    } catch (SQLException e) {
      cause.addSuppressed(e);
      pool.evictConnection(connection);
    }
  }

  /**
   * As {@link #inTransaction}, but the transaction may be shared with the work of other threads
   * that arrived meanwhile ({@link GroupCommit}): one commit and one fsync for all of them. It
   * returns, as inTransaction does, only once what {@code work} wrote is durable. The works of a
   * shared transaction run in turn, each in a savepoint and seeing what those before it wrote; a
   * work that throws is rolled back to its savepoint and only its caller gets the failure.
   * {@code work} may read through {@link #read} (another pooled connection, which does not see
   * the transaction) but must not start a write of its own: that would wait for itself.
   */
  public <T> T inSharedTransaction(Work<T> work) {
    return groupCommit.run(work);
  }

  /** Runs read-only {@code work} outside a transaction. */
  public <T> T read(Work<T> work) {
    try (Connection connection = pool.getConnection()) {
      return work.run(connection);
    } catch (SQLException e) {
      throw new StoreException("database read failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    pool.close();
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage();
  }
}
