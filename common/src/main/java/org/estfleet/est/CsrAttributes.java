package org.estfleet.est;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * The CSR attributes a server asks clients to include (RFC 7030 section 4.5.2): a sequence of
 * bare OIDs (e.g. a signature algorithm, or challengePassword to request PoP linking) and
 * attributes with values (e.g. ecPublicKey with the curve to use).
 */
public record CsrAttributes(List<Item> items) {
  /** The challengePassword attribute type (PKCS#9), requested when PoP linking is required. */
  public static final ASN1ObjectIdentifier CHALLENGE_PASSWORD =
      new ASN1ObjectIdentifier("1.2.840.113549.1.9.7");

  /**
   * One entry: a bare OID when {@code values} is empty, else an attribute with those values.
   */
  public record Item(ASN1ObjectIdentifier type, List<ASN1Encodable> values) {
    public Item {
      Objects.requireNonNull(type, "type");
      values = List.copyOf(values);
    }

    /** A bare OID entry. */
    public static Item oid(ASN1ObjectIdentifier oid) {
      return new Item(oid, List.of());
    }

    /** An attribute entry. */
    public static Item attribute(ASN1ObjectIdentifier type, ASN1Encodable... values) {
      if (values.length == 0) {
        throw new IllegalArgumentException("an attribute needs at least one value (RFC 7030 4.5.2)");
      }
      return new Item(type, List.of(values));
    }

    public boolean isOid() {
      return values.isEmpty();
    }
  }

  public CsrAttributes {
    items = List.copyOf(items);
  }

  public boolean isEmpty() {
    return items.isEmpty();
  }

  /**
   * Whether the server asks for challengePassword, which RFC 7030 section 3.5 uses to say that
   * CSRs must be linked to their TLS connection.
   */
  public boolean requestsLinking() {
    return items.stream().anyMatch(item -> item.type().equals(CHALLENGE_PASSWORD));
  }

  /**
   * The key the server asks for that a key of {@code made} is not (RFC 7030 section 4.5.2: an
   * ecPublicKey attribute naming its curve, rsaEncryption naming its size, or the bare OIDs), as
   * "an EC key on secp384r1"; empty when the server names no key type, or {@code made} is one it
   * names.
   */
  public java.util.Optional<String> keyNotMetBy(org.estfleet.pki.KeyAlgorithm made) {
    boolean ec = made.id().startsWith("ec-");
    ASN1ObjectIdentifier curve = made == org.estfleet.pki.KeyAlgorithm.EC_P256 ? SECObjectIdentifiers.secp256r1
        : made == org.estfleet.pki.KeyAlgorithm.EC_P384 ? SECObjectIdentifiers.secp384r1 : null;
    List<String> asked = new ArrayList<>();
    boolean met = false;
    for (Item item : items) {
      if (item.type().equals(X9ObjectIdentifiers.id_ecPublicKey)) {
        if (item.isOid()) {
          asked.add("an EC key");
          met |= ec;
        }
        for (ASN1Encodable value : item.values()) {
          if (value instanceof ASN1ObjectIdentifier named) {
            String name = ECNamedCurveTable.getName(named);
            asked.add("an EC key on " + (name == null ? named.getId() : name));
            met |= named.equals(curve);
          }
        }
      } else if (item.type().equals(PKCSObjectIdentifiers.rsaEncryption)) {
        if (item.isOid()) {
          asked.add("an RSA key");
          met |= !ec;
        }
        for (ASN1Encodable value : item.values()) {
          if (value instanceof ASN1Integer bits) {
            asked.add("an RSA key of " + bits.getValue() + " bits");
            met |= !ec && made.id().equals("rsa-" + bits.getValue());
          }
        }
      }
    }
    return asked.isEmpty() || met ? java.util.Optional.empty() : java.util.Optional.of(String.join(" or ", asked));
  }

  /** The DER encoding ({@code CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID}). */
  public byte[] encode() {
    AttrOrOID[] entries = new AttrOrOID[items.size()];
    for (int i = 0; i < entries.length; i++) {
      Item item = items.get(i);
      entries[i] = item.isOid()
          ? new AttrOrOID(item.type())
          : new AttrOrOID(new Attribute(item.type(), new DERSet(item.values().toArray(ASN1Encodable[]::new))));
    }
    try {
      return new CsrAttrs(entries).getEncoded(ASN1Encoding.DER);
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode CSR attributes", e);
    }
  }

  /**
   * Parses the DER encoding.
   *
   * @throws IllegalArgumentException if the bytes are not a CsrAttrs sequence
   */
  public static CsrAttributes decode(byte[] der) {
    CsrAttrs attrs;
    try {
      attrs = CsrAttrs.getInstance(der);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a DER CsrAttrs sequence: " + e.getMessage(), e);
    }
    if (attrs == null) {
      throw new IllegalArgumentException("not a DER CsrAttrs sequence: empty input");
    }
    List<Item> items = new ArrayList<>();
    try {
      for (AttrOrOID entry : attrs.getAttrOrOIDs()) {
        if (entry.isOid()) {
          items.add(Item.oid(entry.getOid()));
        } else {
          Attribute attribute = entry.getAttribute();
          items.add(new Item(attribute.getAttrType(), List.of(attribute.getAttributeValues())));
        }
      }
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("malformed CsrAttrs entry: " + e.getMessage(), e);
    }
    return new CsrAttributes(items);
  }
}
