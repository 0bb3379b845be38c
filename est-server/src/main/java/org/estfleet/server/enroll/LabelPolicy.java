package org.estfleet.server.enroll;

import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.config.ProfileConfig;

/**
 * The EST-side rules of one label: which CSRs it accepts, and whether it generates keys.
 *
 * @param serverKeygenRefusal why {@code /serverkeygen} is not offered here (the 501's text), or
 *     null where it is
 */
public record LabelPolicy(CsrPolicy csrPolicy, String serverKeygenRefusal) {
  /** The rules a profile configures. */
  public static LabelPolicy of(ProfileConfig profile) {
    CertificateProfile issued = CertificateProfile.of(profile);
    return new LabelPolicy(new CsrPolicy(profile.allowedSanTypes(), issued.keyUsage(), issued.extendedKeyUsages(),
        profile.subjectAttributes(), profile.sanPatterns()),
        profile.serverKeygen() ? null : "serverkeygen is turned off for this label (serverKeygen: false in its "
            + "profile); generate the key on the device and use simpleenroll");
  }
}
