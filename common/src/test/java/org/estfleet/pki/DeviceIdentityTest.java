package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
    assertEquals(Optional.of("7782"), DeviceIdentity.first(serialOnly.certificate(), DeviceIdentity.DEFAULT_ORDER));
    assertEquals(Optional.empty(), DeviceIdentity.first(serialOnly.certificate(),
        List.of(DeviceIdentity.CN, DeviceIdentity.URI)));
  }

  @Test
  void first_ignoresASerialNumberGivenTwiceOrInAMultiValuedRdn() {
    TestPki.Held twice = factory.issue("unused", b -> b.subject(new X500Name("SERIALNUMBER=1,SERIALNUMBER=2")));
    TestPki.Held multiValued = factory.issue("unused", b -> b.subject(new X500Name("SERIALNUMBER=1+O=Acme")));

    assertEquals(Optional.empty(), DeviceIdentity.SERIAL_NUMBER.of(twice.certificate()));
    assertEquals(Optional.empty(), DeviceIdentity.SERIAL_NUMBER.of(multiValued.certificate()));
  }

  @Test
  void problem_refusesEmptyOverlongAndControlCharacters() {
    assertEquals(Optional.empty(), DeviceIdentity.problem("PID:EF-200 SN:7781"));
    assertEquals(Optional.of("is empty"), DeviceIdentity.problem(""));
    assertEquals(Optional.of("is longer than 1024 characters"), DeviceIdentity.problem("x".repeat(1025)));
    assertEquals(Optional.of("holds a control character"), DeviceIdentity.problem("a\nb"));
  }

  @Test
  void describe_listsTheSourcesInOrder() {
    assertEquals("CN, URI subjectAltName or serialNumber", DeviceIdentity.describe(DeviceIdentity.DEFAULT_ORDER));
    assertEquals("serialNumber", DeviceIdentity.describe(List.of(DeviceIdentity.SERIAL_NUMBER)));
  }
}
