package org.estfleet.server.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit file on a real file system: private when made, and rotated by renaming it, without a signal. */
class AuditLogTest {
  @TempDir
  Path dir;

  @Test
  void renamedAway_orDeleted_theNextLineStartsANewFile_privateToItsOwner() throws Exception {
    Path file = dir.resolve("audit.log");
    try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
      log.record("enroll", Map.of("identity", "device-1"));
      Files.move(file, dir.resolve("audit.log.1")); // as logrotate does, without copytruncate
      log.record("enroll", Map.of("identity", "device-2"));
      log.record("enroll", Map.of("identity", "device-3"));
      Files.move(file, dir.resolve("audit.log.2"));
      Files.delete(dir.resolve("audit.log.2"));
      log.record("enroll", Map.of("identity", "device-4"));
    }

    assertEquals(List.of("device-1"), identities(dir.resolve("audit.log.1")));
    assertEquals(List.of("device-4"), identities(file));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(Files.getOwner(dir), Files.getOwner(file));
  }

  @Test
  void madeByRoot_inADirectoryOfAnotherUser_belongsToThatUser() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "only root gives files away");
    Path data = Files.createDirectory(dir.resolve("data"));
    UserPrincipal service = data.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(data, service); // the server's data directory; an operator runs a command as root

    try (AuditLog log = AuditLog.open(data.resolve("audit.log"), Clock.systemUTC())) {
      log.write("revoke", Map.of("identity", "device-6"));
    }

    assertEquals(service, Files.getOwner(data.resolve("audit.log")), "the server can still append to it");
  }

  @Test
  void anExistingFile_isAppendedTo_itsModeKept() throws Exception {
    Path file = Files.writeString(dir.resolve("audit.log"), "{\"identity\":\"before\"}\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));

    try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
      log.write("token", Map.of("identity", "device-5"));
    }

    assertEquals(List.of("before", "device-5"), identities(file));
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
  }

  private static List<String> identities(Path file) throws Exception {
    return Files.readAllLines(file).stream()
        .map(line -> JsonParser.parseString(line).getAsJsonObject().get("identity").getAsString()).toList();
  }
}
