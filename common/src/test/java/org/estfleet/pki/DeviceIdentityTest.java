package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.Test;

class DeviceIdentityTest {
  private final TestPki.Ca factory = TestPki.rootCa("Factory");

  @Test
  void first_takesTheFirstSourceTheCertificateCarries() {
    TestPki.Held all = factory.issue("unused", b -> b.subject(new X500Name("CN=EF-200,SERIALNUMBER=7781"))
        .subjectAltName(new GeneralName(GeneralName.uniformResourceIdentifier, "urn:dev:ops:acme-7781")));
    TestPki.Held serialOnly = factory.issue("unused", b -> b.subject(new X500Name("O=Acme,SERIALNUMBER=7782")));

    assertEquals(Optional.of("EF-200"), DeviceIdentity.first(all.certificate(), DeviceIdentity.DEFAULT_ORDER));
    assertEquals(Optional.of("urn:dev:ops:acme-7781"), DeviceIdentity.first(all.certificate(),
        List.of(DeviceIdentity.URI, DeviceIdentity.CN)));
    assertEquals(Optional.of("7781"), DeviceIdentity.first(all.certificate(), List.of(DeviceIdentity.SERIAL_NUMBER)));
    assertEquals(Optional.empty(), DeviceIdentity.first(serialOnly.certificate(), DeviceIdentity.DEFAULT_ORDER));
    assertEquals(Optional.of("7782"), DeviceIdentity.first(serialOnly.certificate(), DeviceIdentity.ANY));
    assertEquals(List.of("EF-200", "urn:dev:ops:acme-7781", "7781"), DeviceIdentity.all(all.certificate()));
  }

  @Test
  void aSourceGivenTwiceOrInAMultiValuedRdn_isRefused_notPassedOver() {
    TestPki.Held twice = factory.issue("unused", b -> b.subject(new X500Name("CN=EF-200,SERIALNUMBER=1,SERIALNUMBER=2")));
    TestPki.Held multiValued = factory.issue("unused", b -> b.subject(new X500Name("CN=EF-200+O=Acme")));

    IllegalArgumentException serials = assertThrows(IllegalArgumentException.class,
        () -> DeviceIdentity.first(twice.certificate(), List.of(DeviceIdentity.SERIAL_NUMBER, DeviceIdentity.CN)));
    IllegalArgumentException commonName = assertThrows(IllegalArgumentException.class,
        () -> DeviceIdentity.first(multiValued.certificate(), DeviceIdentity.ANY));

    assertEquals("its subject carries 2 serialNumber attributes, so which one names the device is ambiguous",
        serials.getMessage());
    assertEquals("its subject's CN shares a multi-valued RDN with other attributes", commonName.getMessage());
    assertEquals(List.of("EF-200"), DeviceIdentity.all(twice.certificate()), "the plain names only");
  }

  @Test
  void problem_refusesEmptyOverlongAndControlCharacters() {
    assertEquals(Optional.empty(), DeviceIdentity.problem("PID:EF-200 SN:7781"));
    assertEquals(Optional.of("is empty"), DeviceIdentity.problem(""));
    assertEquals(Optional.of("is blank"), DeviceIdentity.problem("  "));
    assertEquals(Optional.of("is longer than 1024 characters"), DeviceIdentity.problem("x".repeat(1025)));
    assertEquals(Optional.of("holds a control character"), DeviceIdentity.problem("a\nb"));
  }

  @Test
  void describe_listsTheSourcesInOrder() {
    assertEquals("CN, URI subjectAltName or serialNumber", DeviceIdentity.describe(DeviceIdentity.ANY));
    assertEquals("CN or URI subjectAltName", DeviceIdentity.describe(DeviceIdentity.DEFAULT_ORDER));
    assertEquals("serialNumber", DeviceIdentity.describe(List.of(DeviceIdentity.SERIAL_NUMBER)));
  }
}
