package org.estfleet.agent.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.estfleet.pki.Pem;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The atomic switch of key and certificate, and what a crash at each step of an install leaves
 * behind: always one consistent pair in force.
 */
class CredentialStoreTest {
  @TempDir
  Path root;

  private final TestPki.Ca ca = TestPki.rootCa("Store");

  private CredentialStore store() {
    return new CredentialStore(root);
  }

  private TestPki.Held pair(String name) {
    return ca.issueClient(name);
  }

  @Test
  void install_makesCurrentAndKeepsPrevious() throws Exception {
    TestPki.Held first = pair("d");
    TestPki.Held second = pair("d");
    TestPki.Held third = pair("d");

    store().install(first.privateKey(), first.certificate(), first.chain().subList(0, 1));
    store().install(second.privateKey(), second.certificate(), second.chain().subList(0, 1));
    CredentialStore.Credentials current = store().install(third.privateKey(), third.certificate(), third.chain().subList(0, 1));

    assertEquals(third.certificate(), current.certificate());
    assertEquals(second.certificate(), store().previous().orElseThrow().certificate());
    assertEquals(third.certificate(), Pem.readCertificates(root.resolve("cert.pem")).get(0));
    assertEquals(second.certificate(), Pem.readCertificates(root.resolve("cert.pem.prev")).get(0));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("key.pem"))));
    try (Stream<Path> pairs = Files.list(root.resolve("credentials"))) {
      assertEquals(2, pairs.count(), "only current and previous are kept");
    }
  }

  @Test
  void crashBeforeTheSwitch_leavesTheOldPairInForceAndIsCleanedUp() throws Exception {
    TestPki.Held old = pair("d");
    store().install(old.privateKey(), old.certificate(), List.of(old.certificate()));
    // What a crash leaves at each step before the link moves: a half-written temporary
    // directory, and a complete new directory that no link names yet.
    Path halfWritten = Files.createDirectories(root.resolve("credentials/.tmp-1234"));
    Files.writeString(halfWritten.resolve("key.pem"), "-----BEGIN PRIV");
    Path complete = Files.createDirectories(root.resolve("credentials/20990101T000000Z-ff"));
    TestPki.Held orphan = pair("d");
    Files.writeString(complete.resolve("key.pem"), Pem.encodePrivateKey(orphan.privateKey()));
    Files.writeString(complete.resolve("cert.pem"), Pem.encode(orphan.certificate()));

    assertEquals(old.certificate(), store().current().orElseThrow().certificate());

    TestPki.Held next = pair("d");
    store().install(next.privateKey(), next.certificate(), List.of(next.certificate()));
    try (Stream<Path> pairs = Files.list(root.resolve("credentials"))) {
      assertEquals(2, pairs.count(), "leftovers removed by the next install");
    }
    assertEquals(old.certificate(), store().previous().orElseThrow().certificate());
  }

  @Test
  void crashAfterTheSwitch_beforePreviousOrGarbageCollection_isConsistent() throws Exception {
    TestPki.Held first = pair("d");
    TestPki.Held second = pair("d");
    store().install(first.privateKey(), first.certificate(), List.of(first.certificate()));
    store().install(second.privateKey(), second.certificate(), List.of(second.certificate()));
    // A crash between the two link renames leaves "previous" naming the same pair as "current".
    Path currentTarget = Files.readSymbolicLink(root.resolve("current"));
    Files.delete(root.resolve("previous"));
    Files.createSymbolicLink(root.resolve("previous"), currentTarget);

    assertEquals(second.certificate(), store().current().orElseThrow().certificate());
    TestPki.Held third = pair("d");
    store().install(third.privateKey(), third.certificate(), List.of(third.certificate()));
    assertEquals(second.certificate(), store().previous().orElseThrow().certificate());
  }

  @Test
  void current_refusesAKeyThatDoesNotMatchItsCertificate() throws Exception {
    TestPki.Held pair = pair("d");
    CredentialStore.Credentials installed = store().install(pair.privateKey(), pair.certificate(), List.of(pair.certificate()));
    Files.writeString(installed.directory().resolve("key.pem"), Pem.encodePrivateKey(pair("e").privateKey()));

    IOException e = assertThrows(IOException.class, () -> store().current());

    assertTrue(e.getMessage().contains("the key does not belong to the certificate"), e.getMessage());
  }

  @Test
  void empty_hasNoCurrent() throws Exception {
    assertTrue(store().current().isEmpty());
    assertTrue(store().previous().isEmpty());
  }
}
