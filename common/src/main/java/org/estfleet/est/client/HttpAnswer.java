package org.estfleet.est.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;

/**
 * An HTTP/1.1 response read whole from a connection, and rewritten for Bouncy Castle's EST
 * client, which reads only a narrow form of what RFC 7030 servers send: it needs a
 * {@code Content-Length}, takes a body without {@code Content-Transfer-Encoding: base64} for
 * binary DER (RFC 8951 section 3.2.2: the body is base64 whatever that header says), compares
 * media types case-sensitively, and fails on closing a response whose body it did not read (a
 * 401 challenge with a text body, a 202 with one).
 *
 * <p>Read here: a body by {@code Content-Length}, chunked, or up to the end of the connection
 * (RFC 9112 section 6.3), interim 1xx answers skipped. Written back: a {@code 200} with its
 * {@code Content-Length}; a PKCS#7 or CSR attributes body decoded to DER, with no
 * {@code Content-Transfer-Encoding}; any other status with an empty body, the text of a 4xx or
 * 5xx kept in {@link #errorText()} for the caller's message.
 */
final class HttpAnswer {
  /** The longest status line or header line read. */
  private static final int MAX_LINE = 8 * 1024;
  /** The most header lines read. */
  private static final int MAX_HEADERS = 100;

  private final int status;
  private final String reason;
  private final List<String[]> headers;
  private final byte[] body;

  private HttpAnswer(int status, String reason, List<String[]> headers, byte[] body) {
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.body = body;
  }

  /**
   * Reads one response from {@code in}, its body at most {@code limit} bytes.
   *
   * @throws MalformedAnswerException when what the server sent is not an HTTP response
   * @throws IOException when the connection fails
   */
  static HttpAnswer read(InputStream in, int limit) throws IOException {
    while (true) {
      String statusLine = line(in, true);
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[1-5][0-9][0-9]")) {
        throw new MalformedAnswerException("not an HTTP/1.1 answer: '" + Answers.clean(statusLine) + "'");
      }
      int status = Integer.parseInt(parts[1]);
      List<String[]> headers = new ArrayList<>();
      for (String header = line(in, false); !header.isEmpty(); header = line(in, false)) {
        int colon = header.indexOf(':');
        if (colon <= 0) {
          throw new MalformedAnswerException("a malformed header line in the answer: '" + Answers.clean(header) + "'");
        }
        if (headers.size() == MAX_HEADERS) {
          throw new MalformedAnswerException("more than " + MAX_HEADERS + " header lines in the answer");
        }
        headers.add(new String[] {header.substring(0, colon).trim(), header.substring(colon + 1).trim()});
      }
      if (status < 200) {
        continue; // 100 Continue and the like: the answer follows
      }
      String reason = parts.length == 3 ? parts[2] : "";
      HttpAnswer head = new HttpAnswer(status, reason, headers, new byte[0]);
      return new HttpAnswer(status, reason, headers, head.readBody(in, limit));
    }
  }

  private byte[] readBody(InputStream in, int limit) throws IOException {
    if (status == 204 || status == 304) {
      return new byte[0];
    }
    String transferEncoding = header("Transfer-Encoding");
    if (transferEncoding != null) {
      String[] codings = transferEncoding.toLowerCase(Locale.ROOT).split(",");
      if (!codings[codings.length - 1].trim().equals("chunked")) {
        // RFC 9112 6.3: without chunked last, the body runs to the end of the connection.
        return toEnd(in, limit);
      }
      return chunked(in, limit);
    }
    String contentLength = header("Content-Length");
    if (contentLength != null) {
      long length;
      try {
        length = Long.parseLong(contentLength.trim());
      } catch (NumberFormatException e) {
        throw new MalformedAnswerException("the answer's Content-Length is not a number: '"
            + Answers.clean(contentLength) + "'");
      }
      if (length < 0) {
        throw new MalformedAnswerException("the answer's Content-Length is negative: " + length);
      }
      if (length > limit) {
        throw new MalformedAnswerException("the answer is " + length + " bytes, more than the " + limit + " read");
      }
      byte[] body = in.readNBytes((int) length);
      if (body.length < length) {
        throw new IOException("the connection ended after " + body.length + " of the answer's " + length + " bytes");
      }
      return body;
    }
    return toEnd(in, limit);
  }

  private static byte[] toEnd(InputStream in, int limit) throws IOException {
    byte[] body = in.readNBytes(limit + 1);
    if (body.length > limit) {
      throw new MalformedAnswerException("the answer is more than the " + limit + " bytes read");
    }
    return body;
  }

  private static byte[] chunked(InputStream in, int limit) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String sizeLine = line(in, false);
      int extension = sizeLine.indexOf(';');
      String hex = (extension < 0 ? sizeLine : sizeLine.substring(0, extension)).trim();
      long size;
      try {
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new MalformedAnswerException("a malformed chunk size in the answer: '" + Answers.clean(sizeLine) + "'");
      }
      if (size < 0 || body.size() + size > limit) {
        throw new MalformedAnswerException("the answer is more than the " + limit + " bytes read");
      }
      if (size == 0) {
        while (!line(in, false).isEmpty()) {
          // trailer fields, not used
        }
        return body.toByteArray();
      }
      byte[] chunk = in.readNBytes((int) size);
      if (chunk.length < size) {
        throw new IOException("the connection ended within a chunk of the answer");
      }
      body.write(chunk);
      line(in, false); // the CRLF after the chunk
    }
  }

  /** A line without its CRLF or LF; at the end of the stream, an IOException (or "" when {@code first}: none). */
  private static String line(InputStream in, boolean first) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new IOException(first && line.size() == 0 ? "the connection closed without an answer"
            : "the connection ended within the answer's head");
      }
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
      }
      if (line.size() == MAX_LINE) {
        throw new MalformedAnswerException("a line of more than " + MAX_LINE + " bytes in the answer's head");
      }
      line.write(b);
    }
  }

  int status() {
    return status;
  }

  /** The first value of header {@code name} (any case), or null. */
  String header(String name) {
    for (String[] header : headers) {
      if (header[0].equalsIgnoreCase(name)) {
        return header[1];
      }
    }
    return null;
  }

  /** The body of a 4xx or 5xx answer as one line for a message; "" otherwise. */
  String errorText() {
    return status >= 400 ? Answers.clean(new String(body, 0, Math.min(body.length, Answers.MAX_MESSAGE * 2),
        StandardCharsets.UTF_8)) : "";
  }

  /**
   * This answer as Bouncy Castle's EST client reads it (see the class comment).
   *
   * @throws MalformedAnswerException when a PKCS#7 or CSR attributes body is neither base64 nor DER
   */
  byte[] rewritten() throws MalformedAnswerException {
    String type = header("Content-Type");
    String mediaType = type == null ? null : lowerCaseMediaType(type);
    byte[] content = status == 200 ? body : new byte[0];
    boolean decode = status == 200 && content.length > 0 && mediaType != null
        && (EstMediaType.hasBaseType(mediaType, EstMediaType.PKCS7_MIME)
            || EstMediaType.hasBaseType(mediaType, EstMediaType.CSR_ATTRS));
    if (decode) {
      try {
        content = Base64Body.decode(content);
      } catch (IllegalArgumentException e) {
        throw new MalformedAnswerException("the answer's " + mediaType.split(";")[0] + " body: " + e.getMessage());
      }
    }
    StringBuilder head = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
    for (String[] header : headers) {
      String name = header[0].toLowerCase(Locale.ROOT);
      boolean replaced = name.equals("content-length") || name.equals("transfer-encoding") || name.equals("content-type")
          || (decode || status != 200) && name.equals("content-transfer-encoding");
      if (!replaced) {
        head.append(header[0]).append(": ").append(header[1]).append("\r\n");
      }
    }
    if (mediaType != null) {
      head.append("Content-Type: ").append(mediaType).append("\r\n");
    }
    head.append("Content-Length: ").append(content.length).append("\r\n\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = java.util.Arrays.copyOf(headBytes, headBytes.length + content.length);
    System.arraycopy(content, 0, all, headBytes.length, content.length);
    return all;
  }

  /** {@code Application/PKCS7-MIME; smime-type=certs-only} as {@code application/pkcs7-mime; smime-type=certs-only}. */
  private static String lowerCaseMediaType(String type) {
    int semicolon = type.indexOf(';');
    return semicolon < 0 ? type.trim().toLowerCase(Locale.ROOT)
        : type.substring(0, semicolon).trim().toLowerCase(Locale.ROOT) + type.substring(semicolon);
  }

  /** What the server sent is not an answer this client can read: a bad response, not a network failure. */
  static final class MalformedAnswerException extends IOException {
    MalformedAnswerException(String message) {
      super(message);
    }
  }
}
