package org.estfleet.server.enroll;

import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.estfleet.est.CsrAttributes;
import org.estfleet.server.config.ProfileConfig;

/**
 * The EST-side rules of one label: which CSRs it accepts and which CSR attributes it advertises.
 */
public record LabelPolicy(CsrPolicy csrPolicy, CsrAttributes csrAttributes) {
  /** The rules a profile configures. */
  public static LabelPolicy of(ProfileConfig profile) {
    List<CsrAttributes.Item> items = profile.csrAttributes().stream()
        .map(entry -> new CsrAttributes.Item(new ASN1ObjectIdentifier(entry.oid()),
            entry.values().stream().map(v -> (ASN1Encodable) new ASN1ObjectIdentifier(v)).toList()))
        .toList();
    return new LabelPolicy(new CsrPolicy(profile.allowedSanTypes()), new CsrAttributes(items));
  }
}
