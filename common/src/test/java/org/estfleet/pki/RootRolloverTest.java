package org.estfleet.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.junit.jupiter.api.Test;

/** The rollover classification on hand-built certificate sets. */
class RootRolloverTest {
  private static final Instant NOW = Instant.now();

  private record Root(X509Certificate certificate, KeyPair keys) {}

  private static Root root(String name) {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    return new Root(base(name, keys, NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(365))).ca(1)
        .selfSign(keys.getPrivate()), keys);
  }

  /** A root valid from {@code from} for three years. */
  private static Root rootFrom(String name, Instant from) {
    KeyPair keys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    return new Root(base(name, keys, from, from.plus(Duration.ofDays(1095))).ca(1).selfSign(keys.getPrivate()), keys);
  }

  private static CertificateBuilder base(String name, KeyPair keys, Instant from, Instant to) {
    return new CertificateBuilder().subject(new X500Name("CN=" + name)).publicKey(keys.getPublic())
        .serial(CertificateBuilder.randomSerial(TestPki.RANDOM)).validity(from, to);
  }

  /** {@code subject}'s name and key, certified by {@code issuer}: NewWithOld or OldWithNew. */
  private static X509Certificate link(Root subject, Root issuer) {
    return link(subject, issuer, NOW.plus(Duration.ofDays(30)));
  }

  private static X509Certificate link(Root subject, Root issuer, Instant notAfter) {
    return new CertificateBuilder().subject(X500Name.getInstance(subject.certificate().getSubjectX500Principal().getEncoded()))
        .publicKey(subject.keys().getPublic()).serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(NOW.minus(Duration.ofHours(1)), notAfter).ca(1)
        .signWith(issuer.certificate(), issuer.keys().getPrivate());
  }

  private final Root oldRoot = root("Old Root");
  private final Root newRoot = root("New Root");

  @Test
  void completeRollover_vouchesForTheNewRootThroughNewWithOld() {
    X509Certificate newWithOld = link(newRoot, oldRoot);
    List<X509Certificate> response = List.of(oldRoot.certificate(), newRoot.certificate(), newWithOld,
        link(oldRoot, newRoot));

    RootRollover.Classification result = RootRollover.classify(response, List.of(oldRoot.certificate()), NOW);

    assertEquals(List.of(oldRoot.certificate()), result.known());
    assertEquals(List.of(new RootRollover.Vouched(newRoot.certificate(), newWithOld, oldRoot.certificate())),
        result.vouched());
    assertTrue(result.ignored().isEmpty(), result.ignored().toString());
  }

  @Test
  void newRootWithoutLink_isIgnored() {
    RootRollover.Classification result = RootRollover.classify(
        List.of(oldRoot.certificate(), newRoot.certificate()), List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertIgnored(result, newRoot.certificate(), "no link certificate");
  }

  @Test
  void linkSignedByAnUntrustedKeyUnderTheTrustedName_isIgnored() {
    // An attacker's root with the old root's name (but its own key) signs the "NewWithOld".
    KeyPair impostorKeys = KeyAlgorithm.EC_P256.generate(TestPki.RANDOM);
    Root signer = new Root(base("Old Root", impostorKeys, NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(365)))
        .ca(1).selfSign(impostorKeys.getPrivate()), impostorKeys);
    List<X509Certificate> response = List.of(signer.certificate(), newRoot.certificate(), link(newRoot, signer));

    RootRollover.Classification result = RootRollover.classify(response, List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertTrue(result.known().isEmpty(), "a root is known by its key, not its name");
    assertIgnored(result, newRoot.certificate(), "does not verify under any trusted root");
    assertIgnored(result, signer.certificate(), "no link certificate");
  }

  @Test
  void tamperedLink_isIgnored() throws Exception {
    byte[] der = link(newRoot, oldRoot).getEncoded();
    der[der.length - 3] ^= 0x01; // inside the signature value: still DER, no longer a valid signature
    X509Certificate tampered = Certificates.fromDer(der);

    RootRollover.Classification result = RootRollover.classify(
        List.of(oldRoot.certificate(), newRoot.certificate(), tampered), List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertIgnored(result, newRoot.certificate(), "does not verify under any trusted root");
  }

  @Test
  void linkForAnotherKey_doesNotVouchForTheRootInTheResponse() {
    Root other = root("New Root");
    List<X509Certificate> response = List.of(newRoot.certificate(), link(other, oldRoot));

    RootRollover.Classification result = RootRollover.classify(response, List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertIgnored(result, newRoot.certificate(), "no link certificate");
  }

  @Test
  void expiredLink_isIgnored() {
    X509Certificate expired = link(newRoot, oldRoot, NOW.minus(Duration.ofMinutes(1)));

    RootRollover.Classification result = RootRollover.classify(
        List.of(newRoot.certificate(), expired), List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertIgnored(result, newRoot.certificate(), "not valid now");
  }

  @Test
  void linkThatIsNotACaCertificate_isIgnored() {
    X509Certificate endEntity = new CertificateBuilder()
        .subject(X500Name.getInstance(newRoot.certificate().getSubjectX500Principal().getEncoded()))
        .publicKey(newRoot.keys().getPublic()).serial(CertificateBuilder.randomSerial(TestPki.RANDOM))
        .validity(NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(1)))
        .signWith(oldRoot.certificate(), oldRoot.keys().getPrivate());

    RootRollover.Classification result = RootRollover.classify(
        List.of(newRoot.certificate(), endEntity), List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertIgnored(result, newRoot.certificate(), "not a CA certificate");
  }

  @Test
  void newRootWhoseSelfSignatureFails_isIgnoredEvenWithAValidLink() {
    // The "new root" is self-issued by name but signed with the old root's key.
    X509Certificate forged = base("New Root", newRoot.keys(), NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(365)))
        .ca(1).selfSign(oldRoot.keys().getPrivate());

    RootRollover.Classification result = RootRollover.classify(
        List.of(forged, link(newRoot, oldRoot)), List.of(oldRoot.certificate()), NOW);

    assertTrue(result.vouched().isEmpty());
    assertIgnored(result, forged, "self-signature does not verify");
  }

  @Test
  void reissuedTrustedRoot_isKnownByItsKey() {
    X509Certificate reissued = base("Old Root renamed", oldRoot.keys(), NOW.minus(Duration.ofHours(1)),
        NOW.plus(Duration.ofDays(3650))).ca(1).selfSign(oldRoot.keys().getPrivate());

    RootRollover.Classification result = RootRollover.classify(List.of(reissued), List.of(oldRoot.certificate()), NOW);

    assertEquals(List.of(reissued), result.known());
    assertTrue(result.ignored().isEmpty());
  }

  @Test
  void oldWithNew_doesNotVouchForTheOldRoot_toAClientTrustingOnlyTheNewOne() {
    // A rollover as a CA makes it: the new root is made years after the old one.
    Root older = rootFrom("Old Root", NOW.minus(Duration.ofDays(900)));
    X509Certificate newWithOld = link(newRoot, older);
    List<X509Certificate> response = List.of(older.certificate(), newRoot.certificate(), newWithOld,
        link(older, newRoot));

    RootRollover.Classification fromNew = RootRollover.classify(response, List.of(newRoot.certificate()), NOW);
    RootRollover.Classification fromOld = RootRollover.classify(response, List.of(older.certificate()), NOW);

    assertEquals(List.of(newRoot.certificate()), fromNew.known());
    assertTrue(fromNew.vouched().isEmpty(), fromNew.toString());
    assertEquals(List.of(older.certificate()), fromNew.replaced());
    assertTrue(fromNew.ignored().isEmpty(), fromNew.toString());
    assertEquals(List.of(new RootRollover.Vouched(newRoot.certificate(), newWithOld, older.certificate())),
        fromOld.vouched());
    assertTrue(fromOld.replaced().isEmpty(), fromOld.toString());
  }

  @Test
  void rolloverThatKeepsTheCasName_vouchesThroughItsSelfIssuedLink() {
    // The usual case outside this project's own CA (RFC 4210 section 4.4): the new root has the
    // old one's name, so NewWithOld and OldWithNew are self-issued, but signed by the other key.
    Root older = rootFrom("Same Root", NOW.minus(Duration.ofDays(900)));
    Root newer = rootFrom("Same Root", NOW.minus(Duration.ofHours(1)));
    X509Certificate newWithOld = link(newer, older);
    List<X509Certificate> response = List.of(older.certificate(), newer.certificate(), newWithOld,
        link(older, newer));

    RootRollover.Classification fromOld = RootRollover.classify(response, List.of(older.certificate()), NOW);
    RootRollover.Classification fromNew = RootRollover.classify(response, List.of(newer.certificate()), NOW);

    assertEquals(List.of(older.certificate()), fromOld.known(), "the links are not roots");
    assertEquals(List.of(new RootRollover.Vouched(newer.certificate(), newWithOld, older.certificate())),
        fromOld.vouched());
    assertTrue(fromOld.ignored().isEmpty(), fromOld.toString());
    assertEquals(List.of(newer.certificate()), fromNew.known());
    assertEquals(List.of(older.certificate()), fromNew.replaced());
    assertTrue(fromNew.vouched().isEmpty() && fromNew.ignored().isEmpty(), fromNew.toString());
  }

  private static void assertIgnored(RootRollover.Classification result, X509Certificate certificate, String reason) {
    RootRollover.Ignored ignored = result.ignored().stream().filter(i -> i.certificate().equals(certificate)).findFirst()
        .orElseThrow(() -> new AssertionError(Certificates.describe(certificate) + " not ignored: " + result));
    assertTrue(ignored.reason().contains(reason), ignored.reason());
  }
}
