package org.estfleet.server.gateway;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.util.List;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

/** Whether the gateway's copy of {@code /cacerts} holds the CA that issued a forwarded certificate. */
class UpstreamMirrorTest {
  @Test
  void holdsIssuerOf_byNameAndKeyIdentifier() {
    TestPki.Ca root = TestPki.rootCa("Root");
    TestPki.Ca issuing = root.subCa("Issuing CA");
    TestPki.Ca reKeyed = root.subCa("Issuing CA"); // the same name, another key
    List<X509Certificate> copy = List.of(root.certificate(), issuing.certificate());

    assertTrue(UpstreamMirror.holdsIssuerOf(issuing.issueClient("device-1").certificate(), copy));
    assertFalse(UpstreamMirror.holdsIssuerOf(reKeyed.issueClient("device-1").certificate(), copy),
        "a CA re-keyed under its name is told apart by its key identifier");
    assertFalse(UpstreamMirror.holdsIssuerOf(TestPki.rootCa("Other Root").subCa("Other CA").issueClient("device-1")
        .certificate(), copy));
  }
}
