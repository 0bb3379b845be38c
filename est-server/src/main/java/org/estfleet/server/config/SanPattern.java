package org.estfleet.server.config;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;
import java.util.regex.Pattern;
import org.bouncycastle.util.IPAddress;
import org.estfleet.server.config.ProfileConfig.SanType;

/**
 * One entry of a profile's {@code sanValues}: which subjectAltName values a device may have
 * certified, as {@code TYPE:PATTERN}. In a DNS name, URI or email pattern {@code {id}} stands for
 * the enrolling device's identity (its CN) and {@code *} for a run of characters within one DNS
 * label (of a name or an email's domain), one URI segment (no {@code / ? #}) or an email's local
 * part; the rest is literal. DNS names and email addresses compare without regard to case, URIs
 * exactly. Where {@code {id}} stands in a DNS label, only an identity that is one DNS label
 * matches (so {@code api.device-2} cannot have {@code device-2}'s names); in a URI, only one
 * without {@code / ? #}. An IP pattern is an address or a CIDR block ({@code 10.20.0.0/16},
 * {@code fd00::/8}).
 *
 * <p>Also where the syntax of a subjectAltName's value is defined ({@link #wellFormed}), for the
 * CSR checks and the patterns alike.
 */
public final class SanPattern {
  private static final Pattern PRINTABLE = Pattern.compile("[\\x21-\\x7e]+");
  /** RFC 1034 section 3.5's preferred name syntax: LDH labels of 1-63, no trailing dot. */
  private static final Pattern DNS_NAME = Pattern.compile(
      "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
  private static final Pattern DNS_LABEL = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
  private static final String ID = "{id}";

  private final String text;
  private final SanType type;
  /** The pattern after the type, for the text types; null for IP. */
  private final String pattern;
  /** For IP: the block's address and prefix length in bits. */
  private final byte[] network;
  private final int prefix;

  private SanPattern(String text, SanType type, String pattern, byte[] network, int prefix) {
    this.text = text;
    this.type = type;
    this.pattern = pattern;
    this.network = network;
    this.prefix = prefix;
  }

  /**
   * Reads one entry.
   *
   * @throws IllegalArgumentException saying what is wrong with it
   */
  public static SanPattern parse(String entry) {
    int colon = entry == null ? -1 : entry.indexOf(':');
    SanType type = colon < 0 ? null : typeOf(entry.substring(0, colon));
    if (type == null) {
      throw new IllegalArgumentException("'" + entry + "' does not start with dns:, ip:, uri: or email:");
    }
    String rest = entry.substring(colon + 1);
    if (!PRINTABLE.matcher(rest).matches()) {
      throw new IllegalArgumentException("'" + entry + "' has no pattern after its type, or spaces or "
          + "characters outside printable ASCII in it");
    }
    if (type == SanType.IP) {
      return parseBlock(entry, rest);
    }
    if (rest.replace(ID, "").matches(".*[{}].*")) {
      throw new IllegalArgumentException("'" + entry + "': {id} (in lower case) is the only placeholder");
    }
    // A pattern no value could match is a mistake: it must read as a value of its type with a
    // sample identity and a sample run in place of {id} and *.
    if (!wellFormed(type, rest.replace(ID, "device-1").replace("*", "a"))) {
      throw new IllegalArgumentException("'" + entry + "' cannot match " + expected(type));
    }
    return new SanPattern(entry, type, rest, null, 0);
  }

  private static SanPattern parseBlock(String entry, String rest) {
    int slash = rest.indexOf('/');
    String address = slash < 0 ? rest : rest.substring(0, slash);
    // Checked before InetAddress sees it: it resolves anything else as a host name, and reads
    // short forms such as 10.20 (10.0.0.20).
    if (!IPAddress.isValidIPv4(address) && !IPAddress.isValidIPv6(address)) {
      throw new IllegalArgumentException("'" + entry + "': '" + address + "' is not an IPv4 address (four "
          + "decimal numbers) or an IPv6 address");
    }
    byte[] network;
    try {
      network = InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + entry + "': '" + address + "' is not an address", e);
    }
    if (network.length == 4 && address.contains(":")) {
      throw new IllegalArgumentException("'" + entry + "': an IPv4-mapped IPv6 address; write the IPv4 address");
    }
    int bits = network.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      String length = rest.substring(slash + 1);
      prefix = length.matches("\\d{1,3}") ? Integer.parseInt(length) : -1;
      if (prefix < 0 || prefix > bits) {
        throw new IllegalArgumentException("'" + entry + "': the prefix length must be 0-" + bits);
      }
    }
    return new SanPattern(entry, SanType.IP, null, network, prefix);
  }

  private static SanType typeOf(String name) {
    for (SanType type : SanType.values()) {
      if (type.setting().equals(name)) {
        return type;
      }
    }
    return null;
  }

  public SanType type() {
    return type;
  }

  /** Whether a DNS name, URI or email address of this pattern's type matches for {@code identity}. */
  public boolean matches(String value, String identity) {
    if (pattern == null) {
      return false;
    }
    boolean exact = type == SanType.URI;
    StringBuilder regex = new StringBuilder();
    boolean domain = type == SanType.DNS; // or an email's domain, after its '@'
    int at = 0;
    while (at < pattern.length()) {
      if (pattern.startsWith(ID, at)) {
        if (domain ? !DNS_LABEL.matcher(identity).matches() : exact && identity.matches(".*[/?#].*")) {
          return false; // the identity would span labels or segments, into other devices' names
        }
        regex.append(Pattern.quote(exact ? identity : identity.toLowerCase(Locale.ROOT)));
        at += ID.length();
      } else if (pattern.charAt(at) == '*') {
        regex.append(exact ? "[^/?#]+" : domain ? "[^.@]+" : "[^@]+");
        at++;
      } else {
        int next = at;
        while (next < pattern.length() && pattern.charAt(next) != '*' && !pattern.startsWith(ID, next)) {
          next++;
        }
        String literal = pattern.substring(at, next);
        domain |= type == SanType.EMAIL && literal.contains("@");
        regex.append(Pattern.quote(exact ? literal : literal.toLowerCase(Locale.ROOT)));
        at = next;
      }
    }
    return Pattern.compile(regex.toString()).matcher(exact ? value : value.toLowerCase(Locale.ROOT)).matches();
  }

  /**
   * Whether an IP address (4 or 16 octets) is in this pattern's block. An IPv4-mapped IPv6 address
   * ({@code ::ffff:192.0.2.7}) is its IPv4 address, as relying parties read it: in IPv4 blocks
   * only, so that no IPv6 block ({@code ::/0}) lets a device have any IPv4 address certified.
   */
  public boolean contains(byte[] address) {
    if (isMapped(address)) {
      address = Arrays.copyOfRange(address, 12, 16);
    }
    if (network == null || address.length != network.length) {
      return false;
    }
    for (int bit = 0; bit < prefix; bit++) {
      int mask = 0x80 >>> (bit % 8);
      if ((address[bit / 8] & mask) != (network[bit / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isMapped(byte[] address) {
    if (address.length != 16 || address[10] != (byte) 0xff || address[11] != (byte) 0xff) {
      return false;
    }
    for (int i = 0; i < 10; i++) {
      if (address[i] != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code value} is a well-formed subjectAltName of a text type: a DNS name in the
   * preferred name syntax (RFC 1034 3.5, RFC 5280 4.2.1.6: no wildcards, no spaces or control
   * characters), an email address local@domain, an absolute URI (RFC 3986).
   */
  public static boolean wellFormed(SanType type, String value) {
    return switch (type) {
      case DNS -> isDnsName(value);
      case EMAIL -> {
        int at = value.lastIndexOf('@');
        yield at > 0 && value.substring(0, at).chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '@')
            && isDnsName(value.substring(at + 1));
      }
      case URI -> isAbsoluteUri(value);
      case IP -> false;
    };
  }

  /** What a well-formed value of {@code type} is, for messages. */
  public static String expected(SanType type) {
    return switch (type) {
      case DNS -> "a DNS name (letters, digits and hyphens in dot-separated labels)";
      case EMAIL -> "an email address, local@domain";
      case URI -> "an absolute URI (RFC 3986) of printable characters";
      case IP -> "an IPv4 or IPv6 address";
    };
  }

  private static boolean isDnsName(String value) {
    return value.length() <= 253 && DNS_NAME.matcher(value).matches();
  }

  private static boolean isAbsoluteUri(String value) {
    if (value.isEmpty() || !value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      return false;
    }
    try {
      return new URI(value).isAbsolute();
    } catch (URISyntaxException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return text;
  }
}
