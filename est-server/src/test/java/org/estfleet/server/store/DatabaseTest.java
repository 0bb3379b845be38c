package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write transactions on a real SQLite file: a failed one writes nothing and leaves no pooled
 * connection holding the write lock, which another process (the {@code token} command) checks
 * here with a connection of its own that does not wait for the lock.
 */
@Timeout(60)
class DatabaseTest {
  @TempDir Path dir;
  private Database database;

  @BeforeEach
  void open() {
    database = Database.open(dir.resolve("estfleet.db"));
    database.inTransaction(connection -> {
      try (Statement statement = connection.createStatement()) {
        statement.executeUpdate("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
        return statement.executeUpdate("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
            + "REFERENCES parent (id))");
      }
    });
  }

  @AfterEach
  void close() {
    database.close();
  }

  @Test
  void commitThatFails_reportedFailed_nothingWritten_writeLockReleased() throws Exception {
    // A deferred foreign key is checked at COMMIT, which then fails and leaves the transaction open.
    StoreException failed = assertThrows(StoreException.class, () -> database.inTransaction(connection -> {
      try (Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA defer_foreign_keys = ON");
        return statement.executeUpdate("INSERT INTO child (parent_id) VALUES (42)");
      }
    }));

    assertTrue(failed.getMessage().contains("FOREIGN KEY constraint failed"), failed.getMessage());
    assertEquals(0, count("child"));
    assertAnotherProcessTakesTheWriteLockAtOnce();
    writeAndReadBack();
  }

  @Test
  void workThatThrows_rolledBack_writeLockReleased() throws Exception {
    assertFailedWorkRolledBack(new IllegalStateException("the work failed"));
  }

  @Test
  void workThatThrowsAnError_rolledBack_writeLockReleased() throws Exception {
    assertFailedWorkRolledBack(new AssertionError("an error, not an exception"));
  }

  @Test
  void committedWork_visibleToAnotherProcess_andTheWriteLockReleased() throws Exception {
    writeAndReadBack();

    try (Connection other = otherProcess(); Statement statement = other.createStatement();
        ResultSet rows = statement.executeQuery("SELECT COUNT(*) FROM parent")) {
      rows.next();
      assertEquals(1, rows.getInt(1));
    }
    assertAnotherProcessTakesTheWriteLockAtOnce();
  }

  /** A work that writes, then throws {@code failure} (unchecked): nothing stays written or locked. */
  private void assertFailedWorkRolledBack(Throwable failure) throws Exception {
    Throwable thrown = assertThrows(failure.getClass(), () -> database.inTransaction(connection -> {
      try (Statement statement = connection.createStatement()) {
        statement.executeUpdate("INSERT INTO parent (id) VALUES (7)");
      }
      if (failure instanceof Error error) {
        throw error;
      }
      throw (RuntimeException) failure;
    }));

    assertEquals(failure, thrown);
    assertEquals(0, count("parent"));
    assertAnotherProcessTakesTheWriteLockAtOnce();
    writeAndReadBack();
  }

  private void writeAndReadBack() {
    database.inTransaction(connection -> {
      try (Statement statement = connection.createStatement()) {
        statement.executeUpdate("INSERT INTO parent (id) VALUES (1)");
        return statement.executeUpdate("INSERT INTO child (parent_id) VALUES (1)");
      }
    });
    assertEquals(1, count("child"));
  }

  /** Runs {@code sql} on the SQLite file {@code file} through a connection of its own, not est-server's. */
  private static void execute(Path file, String sql) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  @Test
  void anotherProgramsDatabase_isRefused_andLeftUnchanged() throws Exception {
    Path foreign = dir.resolve("foreign.db");
    execute(foreign, "CREATE TABLE foo (x INTEGER)");
    byte[] before = java.nio.file.Files.readAllBytes(foreign);

    StoreException refused = assertThrows(StoreException.class, () -> Database.openExisting(foreign));

    assertTrue(refused.getMessage().contains("is not an est-server database (its tables: foo;"),
        refused.getMessage());
    assertTrue(java.util.Arrays.equals(before, java.nio.file.Files.readAllBytes(foreign)), "left unchanged");
  }

  @Test
  void anSqliteFileWithoutTables_isNotTakenForTheOneInitCreated_andLeftUnchanged() throws Exception {
    Path empty = dir.resolve("empty.db");
    execute(empty, "PRAGMA user_version = 1");
    byte[] before = java.nio.file.Files.readAllBytes(empty);

    StoreException refused = assertThrows(StoreException.class, () -> Database.openExisting(empty));

    assertTrue(refused.getMessage().startsWith("database " + empty.toAbsolutePath() + " has no tables: it is not the "
        + "database est-server init created"), refused.getMessage());
    assertTrue(java.util.Arrays.equals(before, java.nio.file.Files.readAllBytes(empty)), "left unchanged");
  }

  @Test
  void aMigratedDatabaseThatLostATable_isRefused() throws Exception {
    Path file = dir.resolve("damaged.db");
    Database.open(file).close();
    execute(file, "DROP TABLE issued_certificate");

    StoreException refused = assertThrows(StoreException.class, () -> Database.openExisting(file));

    assertEquals("database " + file.toAbsolutePath() + " lacks the table(s) issued_certificate its schema history says "
        + "it has: it was damaged or edited; restore it from a backup", refused.getMessage());
  }

  @Test
  void theTablesCheckedFor_areThoseTheMigrationsCreate() throws Exception {
    Path file = dir.resolve("fresh.db");
    Database.open(file).close();
    java.util.Set<String> tables = new java.util.TreeSet<>();
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table' "
            + "AND name NOT LIKE 'sqlite_%' AND name <> 'flyway_schema_history'")) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    }

    assertEquals(new java.util.TreeSet<>(Database.TABLES), tables);
  }

  @Test
  void aDatabaseANewerServerMigrated_isRefused() throws Exception {
    Path file = dir.resolve("newer.db");
    Database.open(file).close();
    execute(file, "INSERT INTO flyway_schema_history VALUES (99, '99', 'future', 'SQL', 'V99__future.sql', 0, "
        + "'x', '2027-01-01 00:00:00.000', 1, 1)");

    StoreException refused = assertThrows(StoreException.class, () -> Database.openExisting(file));

    assertTrue(refused.getMessage().contains("was migrated by a newer est-server (schema version 99; this one knows "
        + "up to "), refused.getMessage());
  }

  private void assertAnotherProcessTakesTheWriteLockAtOnce() throws SQLException {
    try (Connection other = otherProcess(); Statement statement = other.createStatement()) {
      statement.execute("BEGIN IMMEDIATE");
      statement.execute("ROLLBACK");
    }
  }

  /** A connection outside the pool, as another process has; it fails at once on a held lock. */
  private Connection otherProcess() throws SQLException {
    Connection connection = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("estfleet.db"));
    try (Statement statement = connection.createStatement()) {
      statement.execute("PRAGMA busy_timeout = 0");
    }
    return connection;
  }

  private int count(String table) {
    return database.read(connection -> {
      try (Statement statement = connection.createStatement();
          ResultSet rows = statement.executeQuery("SELECT COUNT(*) FROM " + table)) {
        rows.next();
        return rows.getInt(1);
      }
    });
  }
}
