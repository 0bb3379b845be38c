package org.estfleet.pki;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Reads a {@code /cacerts} response as RFC 7030 section 4.1.3 describes it during a root key
 * rollover: OldWithOld (a root this client trusts), NewWithNew (the new root), NewWithOld (the
 * new root's key certified by the old root) and OldWithNew. Certificates are matched by public
 * key, never by name alone: a root that merely carries a trusted root's name is a stranger.
 *
 * <p>A new root is {@linkplain Vouched vouched for} only when a NewWithOld in the same response
 * certifies exactly its key, is a CA certificate valid now, verifies under the key of a root
 * already trusted, and that trusted root is not newer than it (see {@link #newer}): the same
 * response's OldWithNew certifies the old root's key under the new root, and must not make a
 * client that trusts only the new root trust the old one again. Such an old root is listed as
 * {@linkplain Classification#replaced replaced}; every other self-issued certificate is
 * {@linkplain Ignored ignored} with the reason. Nothing here ever removes trust: roots a response
 * leaves out are simply not mentioned.
 */
public final class RootRollover {
  private RootRollover() {}

  /** A new root, and the link certificate from an already trusted root that vouches for it. */
  public record Vouched(X509Certificate newRoot, X509Certificate newWithOld, X509Certificate trustedRoot) {}

  /** A root-like certificate that cannot be authenticated, and why. */
  public record Ignored(X509Certificate certificate, String reason) {}

  /**
   * @param known the response's roots whose key is already trusted (OldWithOld)
   * @param vouched new roots a trusted root vouches for
   * @param replaced old roots that a trusted, newer root certifies (OldWithNew): the roots a
   *     rollover replaces, which a client trusting the new root has no reason to trust
   * @param ignored self-issued certificates that could not be authenticated
   */
  public record Classification(List<X509Certificate> known, List<Vouched> vouched, List<X509Certificate> replaced,
      List<Ignored> ignored) {}

  /**
   * Classifies the self-issued certificates of {@code response} against the {@code trusted}
   * roots, judging validity periods at {@code now}.
   */
  public static Classification classify(Collection<X509Certificate> response, Collection<X509Certificate> trusted,
      Instant now) {
    List<X509Certificate> known = new ArrayList<>();
    List<Vouched> vouched = new ArrayList<>();
    List<X509Certificate> replaced = new ArrayList<>();
    List<Ignored> ignored = new ArrayList<>();
    for (X509Certificate candidate : response) {
      if (!isSelfIssued(candidate) || known.contains(candidate) || isLinkUnderOneName(candidate, response, trusted)) {
        continue;
      }
      if (trustedKey(candidate.getPublicKey(), trusted) != null) {
        known.add(candidate);
        continue;
      }
      String problem = rootProblem(candidate, now);
      if (problem != null) {
        ignored.add(new Ignored(candidate, problem));
        continue;
      }
      LinkSearch search = findLink(candidate, response, trusted, now);
      if (search.link() != null) {
        if (vouched.stream().noneMatch(v -> v.newRoot().equals(candidate))) {
          vouched.add(new Vouched(candidate, search.link(), search.voucher()));
        }
      } else if (search.replacedBy() != null) {
        if (!replaced.contains(candidate)) {
          replaced.add(candidate);
        }
      } else {
        ignored.add(new Ignored(candidate, search.reason()));
      }
    }
    return new Classification(List.copyOf(known), List.copyOf(vouched), List.copyOf(replaced), List.copyOf(ignored));
  }

  /**
   * Whether root {@code a} is newer than root {@code b}: it starts later, or at the same time and
   * ends later. A rollover's new root is made after the root it replaces; two roots of one
   * validity period cannot be told apart this way, and neither is newer.
   */
  public static boolean newer(X509Certificate a, X509Certificate b) {
    int start = a.getNotBefore().compareTo(b.getNotBefore());
    return start > 0 || start == 0 && a.getNotAfter().after(b.getNotAfter());
  }

  /**
   * Whether a self-issued certificate is a link between two roots of one name (a rollover that
   * keeps the CA's name, RFC 4210 section 4.4's usual case): not signed by its own key, but by
   * that of another root of its name, in the response or trusted.
   */
  private static boolean isLinkUnderOneName(X509Certificate certificate, Collection<X509Certificate> response,
      Collection<X509Certificate> trusted) {
    if (Certificates.isSignedBy(certificate, certificate.getPublicKey())) {
      return false;
    }
    List<X509Certificate> roots = new ArrayList<>(response);
    roots.addAll(trusted);
    for (X509Certificate root : roots) {
      if (root != certificate && isSelfIssued(root) && root.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())
          && !sameKey(root.getPublicKey(), certificate.getPublicKey()) && Certificates.isSignedBy(root, root.getPublicKey())
          && Certificates.isSignedBy(certificate, root.getPublicKey())) {
        return true;
      }
    }
    return false;
  }

  /** Whether the certificate names itself as its issuer (a root, by name). */
  public static boolean isSelfIssued(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal());
  }

  /** Whether two keys are the same key (compared by their encoding). */
  public static boolean sameKey(PublicKey a, PublicKey b) {
    return Arrays.equals(a.getEncoded(), b.getEncoded());
  }

  /** The trusted root that has this key, or null. */
  public static X509Certificate trustedKey(PublicKey key, Collection<X509Certificate> trusted) {
    for (X509Certificate root : trusted) {
      if (sameKey(root.getPublicKey(), key)) {
        return root;
      }
    }
    return null;
  }

  private static String rootProblem(X509Certificate root, Instant now) {
    if (!Certificates.isSignedBy(root, root.getPublicKey())) {
      return "its self-signature does not verify";
    }
    if (root.getBasicConstraints() < 0) {
      return "it is not a CA certificate";
    }
    if (!Certificates.isValidAt(root, now)) {
      return "it is not valid now (" + root.getNotBefore().toInstant() + " to " + root.getNotAfter().toInstant() + ")";
    }
    return null;
  }

  /**
   * The link that vouches for a root and the trusted root that issued it; or, when the only link
   * verifying under a trusted root comes from a newer one, that root ({@code replacedBy}); else why not.
   */
  private record LinkSearch(X509Certificate link, X509Certificate voucher, X509Certificate replacedBy, String reason) {}

  private static LinkSearch findLink(X509Certificate newRoot, Collection<X509Certificate> response,
      Collection<X509Certificate> trusted, Instant now) {
    String reason = "no link certificate (NewWithOld) from a trusted root certifies its key";
    X509Certificate replacedBy = null;
    for (X509Certificate link : response) {
      // Any certificate for the root's key but the root itself (self-signed): a link across two
      // names, or under one (self-issued, signed by the other root's key).
      if (link.equals(newRoot) || isSelfIssued(link) && Certificates.isSignedBy(link, link.getPublicKey())
          || !sameKey(link.getPublicKey(), newRoot.getPublicKey())) {
        continue;
      }
      if (!link.getSubjectX500Principal().equals(newRoot.getSubjectX500Principal())) {
        reason = "the link certificate for its key names another subject ('"
            + link.getSubjectX500Principal().getName() + "')";
        continue;
      }
      if (link.getBasicConstraints() < 0) {
        reason = "the link certificate for its key is not a CA certificate";
        continue;
      }
      if (!Certificates.isValidAt(link, now)) {
        reason = "the link certificate for its key is not valid now (" + link.getNotBefore().toInstant() + " to "
            + link.getNotAfter().toInstant() + ")";
        continue;
      }
      X509Certificate voucher = null;
      for (X509Certificate root : trusted) {
        if (root.getSubjectX500Principal().equals(link.getIssuerX500Principal()) && Certificates.isValidAt(root, now)
            && Certificates.isSignedBy(link, root.getPublicKey())) {
          voucher = root;
          break;
        }
      }
      if (voucher == null) {
        reason = "the link certificate for its key, issued by '" + link.getIssuerX500Principal().getName()
            + "', does not verify under any trusted root";
        continue;
      }
      if (newer(voucher, newRoot)) {
        replacedBy = voucher; // OldWithNew: the trusted root is this one's successor
        continue;
      }
      return new LinkSearch(link, voucher, null, null);
    }
    return new LinkSearch(null, null, replacedBy, reason);
  }

}
