package org.estfleet.est;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.estfleet.pki.TestPki;
import org.junit.jupiter.api.Test;

/**
 * The {@code /serverkeygen} response (RFC 7030 section 4.4.2) byte for byte: deployed parsers
 * (libest's matches part headers and media types exactly, Bouncy Castle's base64 reader skips
 * line breaks only between 4-character groups) leave no room for a change of case or layout.
 */
class ServerGeneratedKeyTest {
  @Test
  void encode_isTwoBase64PartsKeyFirst_withCrlfLinesOf64_andAClosingDelimiter() {
    TestPki.Held held = TestPki.rootCa("Keygen Root").issueClient("device-1");
    ServerGeneratedKey answer = ServerGeneratedKey.of(held.privateKey(), held.certificate());

    String body = new String(answer.encode(), StandardCharsets.US_ASCII);

    String key = new String(Base64Body.encodeMimePart(held.privateKey().getEncoded()), StandardCharsets.US_ASCII);
    String certificate = new String(Base64Body.encodeMimePart(CertsOnly.encode(List.of(held.certificate()))),
        StandardCharsets.US_ASCII);
    assertEquals("--estfleet-serverkeygen-part\r\n"
        + "Content-Type: application/pkcs8\r\n"
        + "Content-Transfer-Encoding: base64\r\n"
        + "\r\n"
        + key
        + "--estfleet-serverkeygen-part\r\n"
        + "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
        + "Content-Transfer-Encoding: base64\r\n"
        + "\r\n"
        + certificate
        + "--estfleet-serverkeygen-part--\r\n", body);
    assertEquals("multipart/mixed; boundary=estfleet-serverkeygen-part", ServerGeneratedKey.CONTENT_TYPE);
    assertTrue(key.lines().allMatch(line -> line.length() <= 64 && line.length() % 4 == 0), key);
  }

  @Test
  void decode_readsWhatEncodeWrote_inEitherOrder_andRefusesWhatIsMissingOrTwice() {
    TestPki.Held held = TestPki.rootCa("Keygen Root").issueClient("device-1");
    String encoded = new String(ServerGeneratedKey.of(held.privateKey(), held.certificate()).encode(),
        StandardCharsets.US_ASCII);
    String[] parts = encoded.split("--estfleet-serverkeygen-part");
    String swapped = "--estfleet-serverkeygen-part" + parts[2] + "--estfleet-serverkeygen-part" + parts[1]
        + "--estfleet-serverkeygen-part--\r\n";
    String keyTwice = "--estfleet-serverkeygen-part" + parts[1] + "--estfleet-serverkeygen-part" + parts[1]
        + "--estfleet-serverkeygen-part--\r\n";

    ServerGeneratedKey decoded = ServerGeneratedKey.decode("multipart/mixed; boundary=\"estfleet-serverkeygen-part\"",
        swapped.getBytes(StandardCharsets.US_ASCII));

    assertArrayEquals(held.privateKey().getEncoded(), decoded.privateKeyInfo());
    assertEquals(held.certificate(), decoded.certificate());
    IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> ServerGeneratedKey.decode(
        ServerGeneratedKey.CONTENT_TYPE, keyTwice.getBytes(StandardCharsets.US_ASCII)));
    assertTrue(twice.getMessage().contains("a second 'application/pkcs8' part"), twice.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ServerGeneratedKey.decode(EstMediaType.PKCS7_CERTS_ONLY,
        encoded.getBytes(StandardCharsets.US_ASCII)));
    assertThrows(IllegalArgumentException.class, () -> ServerGeneratedKey.decode(ServerGeneratedKey.CONTENT_TYPE,
        encoded.substring(0, encoded.length() / 2).getBytes(StandardCharsets.US_ASCII)));
  }
}
