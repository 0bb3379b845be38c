package org.estfleet.server.config;

import com.google.gson.annotations.SerializedName;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.estfleet.json.DurationText;

/**
 * What a label (or the default) issues and accepts: the certificate profile and the CSR policy.
 *
 * @param lifetime validity of issued certificates
 * @param backdate how far before the issuing time {@code notBefore} is set, so that devices whose
 *     clocks run a little behind accept the certificate at once; never more than a tenth of the
 *     lifetime
 * @param keyUsage key usage bits of issued certificates
 * @param extendedKeyUsage extended key usages of issued certificates
 * @param allowedSanTypes the subjectAltName types a CSR may request; they are copied into the
 *     certificate. A CSR asking for another type is refused.
 * @param csrAttributes what {@code /csrattrs} tells clients to put in their CSR
 * @param popLinking whether a CSR must carry the TLS channel binding of its connection in its
 *     challengePassword (RFC 7030 section 3.5); {@code required} also adds challengePassword to
 *     {@code /csrattrs}, which is how clients learn it
 * @param subjectAttributes the subject attributes besides the CN a first enrollment's CSR may
 *     carry (copied into the certificate), by their X.500 short names ({@code O}, {@code OU},
 *     {@code C}, {@code serialNumber}); none by default: the CA vouches for the device's identity,
 *     not for an organisation the device names itself
 * @param serverKeygen whether {@code /serverkeygen} (RFC 7030 section 4.4) generates keys for
 *     devices under this profile (default true); off, it answers 501
 * @param sanValues which subjectAltName values a first enrollment may have certified
 *     ({@link SanPattern}: {@code dns:{id}.devices.example.com}, {@code uri:urn:dev:ops:{id}},
 *     {@code ip:10.20.0.0/16}); none: any value of the allowed types
 */
public record ProfileConfig(
    Duration lifetime,
    Duration backdate,
    List<KeyUsageBit> keyUsage,
    List<ExtendedKeyUsageName> extendedKeyUsage,
    List<SanType> allowedSanTypes,
    List<CsrAttributeConfig> csrAttributes,
    PopLinking popLinking,
    List<String> subjectAttributes,
    Boolean serverKeygen,
    List<String> sanValues) {

  private static final Duration MAX_LIFETIME = Duration.ofDays(3650);
  private static final String CHALLENGE_PASSWORD_OID = "1.2.840.113549.1.9.7";
  private static final Pattern SUBJECT_ATTRIBUTE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9]*");

  public ProfileConfig {
    lifetime = lifetime == null ? Duration.ofDays(30) : lifetime;
    if (lifetime.compareTo(Duration.ofSeconds(1)) < 0 || lifetime.compareTo(MAX_LIFETIME) > 0) {
      throw new IllegalArgumentException("lifetime " + DurationText.format(lifetime) + " is not between 1s and 3650d");
    }
    backdate = backdate == null ? Duration.ofMinutes(5) : backdate;
    if (backdate.compareTo(Duration.ofDays(1)) > 0) {
      throw new IllegalArgumentException("backdate " + DurationText.format(backdate) + " is more than 1d");
    }
    keyUsage = keyUsage == null ? List.of(KeyUsageBit.DIGITAL_SIGNATURE) : List.copyOf(keyUsage);
    extendedKeyUsage = extendedKeyUsage == null ? List.of(ExtendedKeyUsageName.CLIENT_AUTH) : List.copyOf(extendedKeyUsage);
    allowedSanTypes = allowedSanTypes == null
        ? List.of(SanType.DNS, SanType.IP, SanType.URI)
        : List.copyOf(allowedSanTypes);
    csrAttributes = csrAttributes == null
        ? List.of(
            // ecdsa-with-SHA256, and ecPublicKey on P-256 (RFC 7030 4.5.2 style hints)
            new CsrAttributeConfig("1.2.840.10045.4.3.2", List.of()),
            new CsrAttributeConfig("1.2.840.10045.2.1", List.of("1.2.840.10045.3.1.7")))
        : List.copyOf(csrAttributes);
    popLinking = popLinking == null ? PopLinking.OFF : popLinking;
    subjectAttributes = subjectAttributes == null ? List.of() : List.copyOf(subjectAttributes);
    serverKeygen = serverKeygen == null ? Boolean.TRUE : serverKeygen;
    sanValues = sanValues == null ? List.of() : List.copyOf(sanValues);
    for (String entry : sanValues) {
      SanPattern pattern;
      try {
        pattern = SanPattern.parse(entry);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("sanValues: " + e.getMessage(), e);
      }
      if (!allowedSanTypes.contains(pattern.type())) {
        throw new IllegalArgumentException("sanValues: '" + entry + "' is of a type allowedSanTypes does not list "
            + "(it lists " + allowedSanTypes.stream().map(SanType::setting).toList() + ")");
      }
    }
    for (String name : subjectAttributes) {
      if (name.equalsIgnoreCase("CN") || !SUBJECT_ATTRIBUTE_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("subjectAttributes: '" + name + "' is not an X.500 attribute other than CN");
      }
      try {
        BCStyle.INSTANCE.attrNameToOID(name);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("subjectAttributes: unknown attribute '" + name
            + "'; use short names such as O, OU, C, L, ST, serialNumber");
      }
    }
  }

  public ProfileConfig(Duration lifetime, Duration backdate, List<KeyUsageBit> keyUsage,
      List<ExtendedKeyUsageName> extendedKeyUsage, List<SanType> allowedSanTypes,
      List<CsrAttributeConfig> csrAttributes) {
    this(lifetime, backdate, keyUsage, extendedKeyUsage, allowedSanTypes, csrAttributes, null, null, null, null);
  }

  public static ProfileConfig defaults() {
    return new ProfileConfig(null, null, null, null, null, null);
  }

  /**
   * The default profile of gateways' own certificates: one certificate serves as the gateway's
   * TLS server certificate towards devices and as its RA client certificate towards the CA.
   */
  public static ProfileConfig gatewayDefaults() {
    return new ProfileConfig(Duration.ofDays(90), null, null,
        List.of(ExtendedKeyUsageName.SERVER_AUTH, ExtendedKeyUsageName.CLIENT_AUTH, ExtendedKeyUsageName.CMC_RA),
        List.of(SanType.DNS, SanType.IP), List.of());
  }

  /**
   * Whether CSRs must be linked to their TLS connection: {@code popLinking} is required, or
   * {@code /csrattrs} asks for challengePassword (which says the same to clients).
   */
  public boolean requiresLinking() {
    return popLinking == PopLinking.REQUIRED
        || csrAttributes.stream().anyMatch(entry -> entry.oid().equals(CHALLENGE_PASSWORD_OID));
  }

  /** The same profile with another lifetime. */
  public ProfileConfig withLifetime(Duration newLifetime) {
    return new ProfileConfig(newLifetime, backdate, keyUsage, extendedKeyUsage, allowedSanTypes, csrAttributes,
        popLinking, subjectAttributes, serverKeygen, sanValues);
  }

  /** {@code sanValues}, read. */
  public List<SanPattern> sanPatterns() {
    return sanValues.stream().map(SanPattern::parse).toList();
  }

  /** Whether CSRs must be linked to their TLS connection (RFC 7030 section 3.5). */
  public enum PopLinking {
    @SerializedName("off") OFF,
    @SerializedName("required") REQUIRED
  }

  /** Whether the keys of this profile's certificates may sign (digitalSignature): what TLS client authentication does. */
  public boolean maySign() {
    return keyUsage.contains(KeyUsageBit.DIGITAL_SIGNATURE);
  }

  /** Key usage bits (RFC 5280 section 4.2.1.3). */
  public enum KeyUsageBit {
    @SerializedName("digitalSignature") DIGITAL_SIGNATURE,
    @SerializedName("keyEncipherment") KEY_ENCIPHERMENT,
    @SerializedName("keyAgreement") KEY_AGREEMENT,
    @SerializedName("nonRepudiation") NON_REPUDIATION
  }

  /** Extended key usages (RFC 5280 section 4.2.1.12). */
  public enum ExtendedKeyUsageName {
    @SerializedName("clientAuth") CLIENT_AUTH,
    @SerializedName("serverAuth") SERVER_AUTH,
    /** id-kp-cmcRA (RFC 6402 section 2.10): a registration authority, such as an EST gateway. */
    @SerializedName("cmcRA") CMC_RA
  }

  /** subjectAltName types (RFC 5280 section 4.2.1.6). */
  public enum SanType {
    @SerializedName("dns") DNS,
    @SerializedName("ip") IP,
    @SerializedName("uri") URI,
    @SerializedName("email") EMAIL;

    /** The name configuration files use. */
    public String setting() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One {@code /csrattrs} entry: a bare OID when {@code values} is empty, else an attribute whose
   * values are OIDs (e.g. ecPublicKey with the curve's OID).
   */
  public record CsrAttributeConfig(String oid, List<String> values) {
    public CsrAttributeConfig {
      if (oid == null || !oid.matches("[0-2](\\.\\d+)+")) {
        throw new IllegalArgumentException("csrAttributes: '" + oid + "' is not a dotted OID");
      }
      values = values == null ? List.of() : List.copyOf(values);
      for (String value : values) {
        if (!value.matches("[0-2](\\.\\d+)+")) {
          throw new IllegalArgumentException("csrAttributes: value '" + value + "' is not a dotted OID");
        }
      }
    }
  }
}
