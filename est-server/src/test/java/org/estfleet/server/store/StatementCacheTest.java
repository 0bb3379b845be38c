package org.estfleet.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;
import org.sqlite.jdbc4.JDBC4PreparedStatement;

/**
 * Statements kept per connection, on a real SQLite file: one connection of the cache directly, and
 * a second connection of the same file to write beside it.
 */
class StatementCacheTest {
  @TempDir Path dir;
  private SQLiteDataSource files;
  private Connection connection;
  private Connection other;

  @BeforeEach
  void open() throws SQLException {
    files = new SQLiteDataSource();
    files.setUrl("jdbc:sqlite:" + dir.resolve("cache.db"));
    files.setJournalMode("WAL");
    StatementCache cache = new StatementCache(files);
    cache.keepStatements();
    connection = cache.getConnection();
    other = files.getConnection();
    try (Statement create = other.createStatement()) {
      create.executeUpdate("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT)");
      create.executeUpdate("INSERT INTO note (id, text) VALUES (1, 'one'), (2, 'two')");
    }
  }

  @AfterEach
  void close() throws SQLException {
    connection.close();
    other.close();
  }

  @Test
  void theSameSqlPreparedAgain_getsTheStatementPreparedBefore() throws SQLException {
    PreparedStatement first = connection.prepareStatement("SELECT text FROM note WHERE id = ?");
    PreparedStatement prepared = first.unwrap(JDBC4PreparedStatement.class);
    first.setInt(1, 1);
    assertEquals("one", single(first));
    first.close();

    PreparedStatement second = connection.prepareStatement("SELECT text FROM note WHERE id = ?");
    second.setInt(1, 2);

    assertSame(prepared, second.unwrap(JDBC4PreparedStatement.class));
    assertEquals("two", single(second));
    assertTrue(first.isClosed());
    assertFalse(second.isClosed());
    assertFalse(prepared.isClosed());
    assertThrows(SQLException.class, () -> first.setInt(1, 1), "a closed use stays closed");
    second.close();
  }

  @Test
  void aStatementGivenBack_forgetsItsParameters() throws SQLException {
    try (PreparedStatement first = connection.prepareStatement("SELECT ?")) {
      first.setString(1, "left over");
      assertEquals("left over", single(first));
    }

    try (PreparedStatement second = connection.prepareStatement("SELECT ?")) {
      assertNull(single(second), "an unbound parameter is NULL");
    }
  }

  @Test
  void theSameSqlPreparedWhileInUse_getsAStatementOfItsOwn() throws SQLException {
    try (PreparedStatement outer = connection.prepareStatement("SELECT id FROM note ORDER BY id");
        ResultSet outerRows = outer.executeQuery()) {
      assertTrue(outerRows.next());
      try (PreparedStatement inner = connection.prepareStatement("SELECT id FROM note ORDER BY id");
          ResultSet innerRows = inner.executeQuery()) {
        assertNotSame(outer.unwrap(JDBC4PreparedStatement.class), inner.unwrap(JDBC4PreparedStatement.class));
        assertTrue(innerRows.next());
        assertTrue(innerRows.next());
        assertEquals(2, innerRows.getInt(1));
      }
      assertEquals(1, outerRows.getInt(1));
      assertTrue(outerRows.next());
      assertEquals(2, outerRows.getInt(1));
    }
  }

  @Test
  void closingAStatementWithItsRowsUnread_endsItsRead() throws SQLException {
    // given: a query left in the middle of its rows, its statement closed but not its result set
    PreparedStatement query = connection.prepareStatement("SELECT id FROM note ORDER BY id");
    ResultSet rows = query.executeQuery();
    assertTrue(rows.next());
    query.close();

    // when: another connection writes
    try (Statement insert = other.createStatement()) {
      insert.executeUpdate("INSERT INTO note (id, text) VALUES (3, 'three')");
    }

    // then: this connection reads the new row; a read still open would see its old snapshot
    assertEquals(3, count(connection));
  }

  @Test
  void aQueryRunByExecute_isNotKept_andEndsItsRead() throws SQLException {
    // given: a query run by execute(), its rows left unread
    PreparedStatement query = connection.prepareStatement("SELECT id FROM note ORDER BY id");
    JDBC4PreparedStatement prepared = query.unwrap(JDBC4PreparedStatement.class);
    assertTrue(query.execute());

    // when
    query.close();
    try (Statement insert = other.createStatement()) {
      insert.executeUpdate("INSERT INTO note (id, text) VALUES (3, 'three')");
    }

    // then
    assertTrue(prepared.isClosed());
    assertEquals(3, count(connection));
  }

  @Test
  void aStatementWhoseSettingsChanged_isNotKept() throws SQLException {
    // given: a caller that limits its rows to one
    PreparedStatement limited = connection.prepareStatement("SELECT id FROM note ORDER BY id");
    limited.setMaxRows(1);
    assertEquals("1", single(limited));

    // when
    limited.close();

    // then: the next caller gets every row
    try (PreparedStatement again = connection.prepareStatement("SELECT id FROM note ORDER BY id");
        ResultSet rows = again.executeQuery()) {
      assertTrue(rows.next());
      assertTrue(rows.next(), "the row limit of an earlier caller applies to this one");
    }
  }

  @Test
  void aStatementThatFailedToRun_isClosedQuietly_andPreparedAgain() throws SQLException {
    // given: a statement whose execution fails (integer overflow, SQLITE_ERROR)
    PreparedStatement failing = connection.prepareStatement("SELECT abs(?)");
    JDBC4PreparedStatement prepared = failing.unwrap(JDBC4PreparedStatement.class);
    failing.setLong(1, Long.MIN_VALUE);
    assertThrows(SQLException.class, () -> single(failing));

    // when
    failing.close();

    // then
    try (PreparedStatement again = connection.prepareStatement("SELECT abs(?)")) {
      again.setLong(1, -5);
      assertEquals("5", single(again));
      assertNotSame(prepared, again.unwrap(JDBC4PreparedStatement.class));
    }
  }

  @Test
  void aConnection_equalsItselfOnly() throws SQLException {
    try (Connection another = new StatementCache(files).getConnection()) {
      assertEquals(connection, connection);
      assertNotEquals(connection, another);
      assertEquals(connection.hashCode(), connection.hashCode());
    }
  }

  @Test
  void closingTheConnection_closesTheStatementsItKept() throws SQLException {
    PreparedStatement prepared;
    try (PreparedStatement query = connection.prepareStatement("SELECT COUNT(*) FROM note")) {
      prepared = query.unwrap(JDBC4PreparedStatement.class);
    }
    assertFalse(prepared.isClosed());

    connection.close();

    assertTrue(prepared.isClosed());
  }

  @Test
  void beyondItsLimit_theLeastRecentlyUsedStatementIsClosed() throws SQLException {
    List<PreparedStatement> prepared = new ArrayList<>();
    for (int i = 0; i <= StatementCache.PER_CONNECTION; i++) {
      try (PreparedStatement query = connection.prepareStatement("SELECT " + i)) {
        prepared.add(query.unwrap(JDBC4PreparedStatement.class));
      }
    }

    assertTrue(prepared.get(0).isClosed());
    assertFalse(prepared.get(1).isClosed());
    assertFalse(prepared.get(StatementCache.PER_CONNECTION).isClosed());
    try (PreparedStatement again = connection.prepareStatement("SELECT 0")) {
      assertEquals("0", single(again), "an evicted statement is prepared again");
    }
  }

  @Test
  void beforeKeepStatements_nothingIsKept() throws SQLException {
    try (Connection migrating = new StatementCache(files).getConnection()) {
      PreparedStatement first = migrating.prepareStatement("SELECT 1");
      PreparedStatement prepared = first.unwrap(JDBC4PreparedStatement.class);
      first.close();

      assertTrue(prepared.isClosed());
    }
  }

  @Test
  void aDatabaseTransaction_reusesItsStatements() {
    try (Database database = Database.open(dir.resolve("estfleet.db"))) {
      List<PreparedStatement> seen = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        database.inTransaction(connection -> {
          try (PreparedStatement select = connection.prepareStatement("SELECT COUNT(*) FROM issued_certificate")) {
            seen.add(select.unwrap(JDBC4PreparedStatement.class));
            try (ResultSet rows = select.executeQuery()) {
              rows.next();
              return rows.getLong(1);
            }
          }
        });
      }

      // One thread, one pooled connection at a time: the pool hands it the same one.
      assertSame(seen.get(0), seen.get(1));
      assertSame(seen.get(0), seen.get(2));
    }
  }

  private static String single(PreparedStatement query) throws SQLException {
    try (ResultSet rows = query.executeQuery()) {
      assertTrue(rows.next());
      return rows.getString(1);
    }
  }

  private static int count(Connection connection) throws SQLException {
    try (PreparedStatement query = connection.prepareStatement("SELECT COUNT(*) FROM note");
        ResultSet rows = query.executeQuery()) {
      rows.next();
      return rows.getInt(1);
    }
  }
}
