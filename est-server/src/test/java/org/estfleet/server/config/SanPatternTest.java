package org.estfleet.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code sanValues} entries: what each kind of pattern lets a device have certified, and what not. */
class SanPatternTest {
  @Test
  void dns_idIsOneLabel_starIsOneLabel_caseIgnored() {
    SanPattern own = SanPattern.parse("dns:{id}.devices.example.com");
    SanPattern below = SanPattern.parse("dns:*.{id}.devices.example.com");

    assertTrue(own.matches("Device-7.DEVICES.example.com", "device-7"));
    assertTrue(own.matches("device-7.devices.example.com", "DEVICE-7"), "DNS names have no case");
    assertTrue(below.matches("api.device-7.devices.example.com", "device-7"));
    assertFalse(below.matches("a.b.device-7.devices.example.com", "device-7"), "* is one label");
    assertFalse(own.matches("device-8.devices.example.com", "device-7"));
    assertFalse(own.matches("device-7.devices.example.com.evil", "device-7"));
    // An identity of two labels would name another device's host: it matches nothing where {id} is a label.
    assertFalse(own.matches("api.device-2.devices.example.com", "api.device-2"));
    assertFalse(own.matches("x.devices.example.com", "x.*"), "an identity is literal, never a pattern");
  }

  @Test
  void uri_exact_idWithoutSegmentDelimiters() {
    SanPattern urn = SanPattern.parse("uri:urn:dev:ops:{id}");
    SanPattern path = SanPattern.parse("uri:https://fleet.example/devices/{id}/*");

    assertTrue(urn.matches("urn:dev:ops:PID:EF-200", "PID:EF-200"));
    assertFalse(urn.matches("urn:dev:ops:device-7", "Device-7"), "URIs compare exactly");
    assertFalse(urn.matches("urn:dev:ops:device-7x", "device-7"));
    assertTrue(path.matches("https://fleet.example/devices/d7/status", "d7"));
    assertFalse(path.matches("https://fleet.example/devices/d7/a/b", "d7"), "* is one segment");
    assertFalse(path.matches("https://fleet.example/devices/d7/x/status", "d7/x"), "an id holding a '/'");
  }

  @Test
  void email_starInTheLocalPartOrOneLabelOfTheDomain() {
    SanPattern local = SanPattern.parse("email:*@{id}.mail.example");
    SanPattern domain = SanPattern.parse("email:{id}@*.example");

    assertTrue(local.matches("ops.team@Device-7.mail.example", "device-7"));
    assertFalse(local.matches("ops@a.device-7.mail.example", "device-7"));
    assertTrue(domain.matches("first.last@mail.example", "first.last"), "the local part may hold dots");
    assertFalse(domain.matches("device-7@a.b.example", "device-7"), "* is one label of the domain");
  }

  @Test
  void ip_addressesAndBlocks_ofAnyPrefixLength() throws Exception {
    SanPattern block = SanPattern.parse("ip:192.0.2.128/25");
    SanPattern one = SanPattern.parse("ip:192.0.2.7");
    SanPattern any = SanPattern.parse("ip:0.0.0.0/0");
    SanPattern v6 = SanPattern.parse("ip:2001:db8:8000::/33");

    assertTrue(block.contains(address("192.0.2.200")));
    assertFalse(block.contains(address("192.0.2.127")));
    assertTrue(one.contains(address("192.0.2.7")));
    assertFalse(one.contains(address("192.0.2.8")));
    assertTrue(any.contains(address("203.0.113.9")));
    assertFalse(any.contains(address("2001:db8::1")), "an IPv4 block holds no IPv6 address");
    assertTrue(v6.contains(address("2001:db8:8000::1")));
    assertFalse(v6.contains(address("2001:db8:7fff::1")));
    assertFalse(block.matches("192.0.2.200", "d"), "an IP pattern matches addresses, not text");
    // An IPv4-mapped IPv6 address is its IPv4 address: in IPv4 blocks, in no IPv6 block.
    byte[] mapped = new byte[16];
    mapped[10] = (byte) 0xff;
    mapped[11] = (byte) 0xff;
    System.arraycopy(address("192.0.2.200"), 0, mapped, 12, 4);
    assertTrue(block.contains(mapped));
    assertFalse(SanPattern.parse("ip:198.51.100.0/24").contains(mapped));
    assertFalse(SanPattern.parse("ip:::/0").contains(mapped), "::/0 does not let a device name any IPv4 address");
  }

  @Test
  void typesOtherThanTheirOwn_neverMatch() {
    assertEquals(List.of(ProfileConfig.SanType.DNS, ProfileConfig.SanType.IP, ProfileConfig.SanType.URI,
        ProfileConfig.SanType.EMAIL), List.of(SanPattern.parse("dns:a.example").type(),
            SanPattern.parse("ip:::1").type(), SanPattern.parse("uri:urn:a").type(),
            SanPattern.parse("email:a@b.example").type()));
    assertFalse(SanPattern.parse("dns:a.example").contains(new byte[] {1, 2, 3, 4}));
  }

  private static byte[] address(String literal) throws Exception {
    return InetAddress.getByName(literal).getAddress();
  }
}
