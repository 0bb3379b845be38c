package org.estfleet.server.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;
import org.estfleet.est.EstException;

/**
 * HTTP Basic credentials (RFC 7617): for enrollment, the device id and its one-time token.
 * {@link #toString()} never shows the password.
 */
public record BasicCredentials(String userId, String password) {
  public BasicCredentials {
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(password, "password");
  }

  /**
   * Parses an {@code Authorization} header value.
   *
   * @throws EstException 401 if it is not well-formed HTTP Basic
   */
  public static BasicCredentials parse(String authorization) throws EstException {
    String value = authorization.trim();
    int space = value.indexOf(' ');
    String scheme = space < 0 ? value : value.substring(0, space);
    if (!scheme.toLowerCase(Locale.ROOT).equals("basic")) {
      throw EstException.unauthorized(
          "only HTTP Basic authentication is supported (Authorization: Basic base64(deviceId:token))");
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(value.substring(space + 1).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException | StringIndexOutOfBoundsException e) {
      throw EstException.unauthorized("malformed HTTP Basic credentials: not base64");
    }
    int colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw EstException.unauthorized("malformed HTTP Basic credentials: expected deviceId:token");
    }
    return new BasicCredentials(decoded.substring(0, colon), decoded.substring(colon + 1));
  }

  @Override
  public String toString() {
    return "BasicCredentials[" + userId + ":***]";
  }
}
