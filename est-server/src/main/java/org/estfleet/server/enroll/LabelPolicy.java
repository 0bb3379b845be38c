package org.estfleet.server.enroll;

import org.estfleet.server.ca.CertificateProfile;

import org.estfleet.server.config.ProfileConfig;

/** The EST-side rules of one label: which CSRs it accepts. */
public record LabelPolicy(CsrPolicy csrPolicy) {
  /** The rules a profile configures. */
  public static LabelPolicy of(ProfileConfig profile) {
    CertificateProfile issued = CertificateProfile.of(profile);
    return new LabelPolicy(new CsrPolicy(profile.allowedSanTypes(), issued.keyUsage(), issued.extendedKeyUsages(),
        profile.subjectAttributes()));
  }
}
