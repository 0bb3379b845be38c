package org.estfleet.pki;

import com.google.gson.annotations.SerializedName;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.GeneralName;

/**
 * Where a manufacturer-installed device certificate (IEEE 802.1AR IDevID) names its device. A
 * device enrolls for that identity: its CSR carries it as the CN, and its operational
 * certificates are issued for it.
 *
 * <p>IEEE 802.1AR (section 8.6) puts a device's unique serial number in the subject's
 * {@code serialNumber} attribute; many IDevIDs also carry a CN, which some manufacturers make
 * unique and others fill with the product's model, shared by every unit. Which one identifies a
 * device is therefore a choice of the CA that trusts the manufacturer, made as an order of
 * sources: the first one the certificate carries names the device.
 */
public enum DeviceIdentity {
  /** The subject's single CN. */
  @SerializedName("cn") CN("cn", "CN"),
  /** The first URI subjectAltName (RFC 4122 URNs, {@code urn:dev:...} of RFC 9039). */
  @SerializedName("uri") URI("uri", "URI subjectAltName"),
  /** The subject's single serialNumber attribute (X.520, 2.5.4.5), as IEEE 802.1AR advises. */
  @SerializedName("serialNumber") SERIAL_NUMBER("serialNumber", "serialNumber");

  /**
   * The order a CA uses unless configured otherwise: the CN, else a URI. A serialNumber is often
   * a short number unique only among one manufacturer's units: naming devices by it is the CA's
   * explicit choice, and IDevIDs that carry nothing else are refused until it is made.
   */
  public static final List<DeviceIdentity> DEFAULT_ORDER = List.of(CN, URI);

  /** Every source, in the order a device looks for the identity it enrolls under by default. */
  public static final List<DeviceIdentity> ANY = List.of(CN, URI, SERIAL_NUMBER);

  /** At most this many characters: beyond it, an identity is no name a device would be known by. */
  public static final int MAX_LENGTH = 1024;

  /**
   * At most this many characters in an identity a device enrolls under, its certificates' CN
   * (RFC 5280 ub-common-name).
   */
  public static final int MAX_ENROLLED_LENGTH = 64;

  private final String setting;
  private final String described;

  DeviceIdentity(String setting, String described) {
    this.setting = setting;
    this.described = described;
  }

  /** The source as a setting names it: "cn", "uri", "serialNumber". */
  public String setting() {
    return setting;
  }

  /**
   * This source's value in {@code certificate}, if it carries one.
   *
   * @throws IllegalArgumentException if it carries this source but not as one value: two CNs or
   *     serialNumbers, one in a multi-valued RDN or not a string
   */
  public Optional<String> of(X509Certificate certificate) {
    return switch (this) {
      case CN -> attribute(certificate, BCStyle.CN);
      case URI -> Certificates.subjectAltNames(certificate).stream()
          .filter(name -> name.getTagNo() == GeneralName.uniformResourceIdentifier)
          .map(name -> name.getName().toString())
          .findFirst();
      case SERIAL_NUMBER -> attribute(certificate, BCStyle.SERIALNUMBER);
    };
  }

  private Optional<String> attribute(X509Certificate certificate, ASN1ObjectIdentifier type) {
    X500Name subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    Optional<String> value = Certificates.singleAttribute(subject, type);
    RDN[] rdns = subject.getRDNs(type);
    if (value.isEmpty() && rdns.length > 0) {
      // Present but not one plain value: which one names the device is not for us to guess, nor
      // is it to be passed over for the next source.
      throw new IllegalArgumentException(rdns.length > 1
          ? "its subject carries " + rdns.length + " " + described + " attributes, so which one names the device is "
              + "ambiguous"
          : rdns[0].isMultiValued()
              ? "its subject's " + described + " shares a multi-valued RDN with other attributes"
              : "its subject's " + described + " is not a string");
    }
    return value;
  }

  /**
   * The identity of {@code certificate}: the value of the first source in {@code order} that it
   * carries.
   *
   * @throws IllegalArgumentException if that source is ambiguous (see {@link #of})
   */
  public static Optional<String> first(X509Certificate certificate, List<DeviceIdentity> order) {
    for (DeviceIdentity source : order) {
      Optional<String> value = source.of(certificate);
      if (value.isPresent()) {
        return value;
      }
    }
    return Optional.empty();
  }

  /**
   * Every identity {@code certificate} could name its device by, whatever the order: a CA checks
   * them all against its revoked devices, so that a device revoked under one name is not let in
   * under another after the order was changed. Ambiguous sources are left out.
   */
  public static List<String> all(X509Certificate certificate) {
    List<String> values = new ArrayList<>();
    for (DeviceIdentity source : values()) {
      try {
        source.of(certificate).filter(value -> !values.contains(value)).ifPresent(values::add);
      } catch (IllegalArgumentException ambiguous) {
        // refused by first() if it is the source in use; otherwise no name the device goes by
      }
    }
    return values;
  }

  /**
   * Why {@code identity} cannot name a device, if it cannot: it is empty or blank, longer than
   * {@link #MAX_LENGTH} characters, or holds a control character (it is written on command lines, in
   * logs and in listings that must stay one line per device).
   */
  public static Optional<String> problem(String identity) {
    if (identity.isBlank()) {
      return Optional.of(identity.isEmpty() ? "is empty" : "is blank");
    }
    if (identity.length() > MAX_LENGTH) {
      return Optional.of("is longer than " + MAX_LENGTH + " characters");
    }
    if (identity.chars().anyMatch(Character::isISOControl)) {
      return Optional.of("holds a control character");
    }
    return Optional.empty();
  }

  /** The sources of {@code order} as a message lists them: "CN, URI subjectAltName or serialNumber". */
  public static String describe(List<DeviceIdentity> order) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < order.size(); i++) {
      text.append(i == 0 ? "" : i == order.size() - 1 ? " or " : ", ").append(order.get(i).described);
    }
    return text.toString();
  }
}
