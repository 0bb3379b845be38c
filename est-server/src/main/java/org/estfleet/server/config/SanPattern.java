package org.estfleet.server.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;
import org.estfleet.server.config.ProfileConfig.SanType;

/**
 * One entry of a profile's {@code sanValues}: which subjectAltName values a device may have
 * certified, as {@code TYPE:PATTERN}. In a DNS name, URI or email pattern {@code {id}} stands for
 * the enrolling device's identity (its CN) and {@code *} for a run of characters within one DNS
 * label (of a name or an email's domain), one URI segment (no {@code / ? #}) or an email's local
 * part; the rest is literal. DNS names
 * and email addresses compare without regard to case, URIs exactly. An IP pattern is an address
 * or a CIDR block ({@code 10.20.0.0/16}, {@code fd00::/8}).
 */
public final class SanPattern {
  private static final Pattern TEXT = Pattern.compile("[\\x21-\\x7e]+");

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
    if (!TEXT.matcher(rest).matches()) {
      throw new IllegalArgumentException("'" + entry + "' has no pattern after its type, or spaces or "
          + "characters outside printable ASCII in it");
    }
    if (type != SanType.IP) {
      return new SanPattern(entry, type, type == SanType.URI ? rest : rest.toLowerCase(Locale.ROOT), null, 0);
    }
    int slash = rest.indexOf('/');
    String address = slash < 0 ? rest : rest.substring(0, slash);
    byte[] network;
    try {
      if (!address.matches("[0-9A-Fa-f.:]+")) {
        throw new UnknownHostException(address); // never a name to resolve
      }
      network = InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + entry + "': '" + address + "' is not an IPv4 or IPv6 address");
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
    return new SanPattern(entry, type, null, network, prefix);
  }

  private static SanType typeOf(String name) {
    for (SanType type : SanType.values()) {
      if (type.name().equalsIgnoreCase(name)) {
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
    String id = exact ? identity : identity.toLowerCase(Locale.ROOT);
    StringBuilder regex = new StringBuilder();
    boolean domain = type == SanType.DNS; // an email's domain after its '@'
    int at = 0;
    while (at < pattern.length()) {
      if (pattern.startsWith("{id}", at)) {
        regex.append(Pattern.quote(id));
        at += 4;
      } else if (pattern.charAt(at) == '*') {
        regex.append(type == SanType.URI ? "[^/?#]+" : domain ? "[^.@]+" : "[^@]+");
        at++;
      } else {
        int next = at;
        while (next < pattern.length() && pattern.charAt(next) != '*' && !pattern.startsWith("{id}", next)) {
          next++;
        }
        String literal = pattern.substring(at, next);
        domain |= type == SanType.EMAIL && literal.contains("@");
        regex.append(Pattern.quote(literal));
        at = next;
      }
    }
    return Pattern.compile(regex.toString()).matcher(exact ? value : value.toLowerCase(Locale.ROOT)).matches();
  }

  /** Whether an IP address (4 or 16 octets) is in this pattern's block. */
  public boolean contains(byte[] address) {
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

  @Override
  public String toString() {
    return text;
  }
}
