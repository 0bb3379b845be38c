package org.estfleet.est.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.estfleet.est.Base64Body;
import org.estfleet.est.EstMediaType;

/**
 * An HTTP/1.1 response read whole from a connection, and rewritten for Bouncy Castle's EST
 * client, which reads only a narrow form of what RFC 7030 servers send: it needs a
 * {@code Content-Length}, takes a body without {@code Content-Transfer-Encoding: base64} for
 * binary DER (RFC 8951 section 3.2.2: the body is base64 whatever that header says), compares
 * media types case-sensitively, fails on closing a response whose body it did not read (a 401
 * challenge with a text body, a 202 with one), and on a head line of 1 KiB.
 *
 * <p>Read here: a body by {@code Content-Length}, chunked, or up to the end of the connection
 * (RFC 9112 section 6.3), interim 1xx answers skipped, folded header lines joined; the whole
 * answer within a deadline and bounded in size. Written back: the status, the headers Bouncy
 * Castle reads, a {@code 200} with its {@code Content-Length}; a PKCS#7 or CSR attributes body
 * decoded to DER, with no {@code Content-Transfer-Encoding}; any other status with an empty body,
 * the text of a 4xx or 5xx kept in {@link #errorText()} for the caller's message.
 */
final class HttpAnswer {
  /** The longest status line or header line read. */
  private static final int MAX_LINE = 8 * 1024;
  /** The most bytes of head (status line and headers, interim answers and trailers included) read. */
  private static final int MAX_HEAD = 64 * 1024;
  /** The most header lines read. */
  private static final int MAX_HEADERS = 100;
  /** The most interim (1xx) answers skipped. */
  private static final int MAX_INTERIM = 10;
  /** The headers Bouncy Castle's EST client reads, passed on; the others are left out. */
  private static final Set<String> PASSED_ON = Set.of("retry-after", "www-authenticate", "location");
  /** Bouncy Castle reads head lines into a 1,024-byte buffer. */
  private static final int BOUNCY_CASTLE_LINE = 1000;

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
   * Reads one response from {@code in}, its body at most {@code limit} bytes, all of it within
   * {@code within} (the read timeout of each read still applies).
   *
   * @throws MalformedAnswerException when what the server sent is not an HTTP response
   * @throws SocketTimeoutException when the answer does not come whole within {@code within}
   * @throws IOException when the connection fails
   */
  static HttpAnswer read(InputStream in, int limit, Duration within) throws IOException {
    Reader reader = new Reader(in, System.nanoTime() + within.toNanos(), within);
    for (int interim = 0; ; interim++) {
      String statusLine = reader.line("the status line");
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[1-5][0-9][0-9]")) {
        throw new MalformedAnswerException("not an HTTP/1.1 answer: '" + Answers.clean(statusLine) + "'");
      }
      int status = Integer.parseInt(parts[1]);
      List<String[]> headers = new ArrayList<>();
      for (String header = reader.line("the headers"); !header.isEmpty(); header = reader.line("the headers")) {
        if ((header.charAt(0) == ' ' || header.charAt(0) == '\t') && !headers.isEmpty()) {
          // obs-fold (RFC 9112 5.2): a continuation of the previous field's value.
          String[] previous = headers.get(headers.size() - 1);
          previous[1] = previous[1] + " " + header.trim();
          continue;
        }
        int colon = header.indexOf(':');
        if (colon <= 0) {
          throw new MalformedAnswerException("a malformed header line in the answer: '" + Answers.clean(header) + "'");
        }
        if (headers.size() == MAX_HEADERS) {
          throw new MalformedAnswerException("more than " + MAX_HEADERS + " header lines in the answer");
        }
        headers.add(new String[] {header.substring(0, colon).trim(), header.substring(colon + 1).trim()});
      }
      if (status >= 200) {
        String reason = parts.length == 3 ? parts[2] : "";
        HttpAnswer head = new HttpAnswer(status, reason, headers, new byte[0]);
        return new HttpAnswer(status, reason, headers, head.readBody(reader, limit));
      }
      if (interim == MAX_INTERIM) {
        throw new MalformedAnswerException("more than " + MAX_INTERIM + " interim (1xx) answers");
      }
    }
  }

  private byte[] readBody(Reader reader, int limit) throws IOException {
    if (status == 204 || status == 304) {
      return new byte[0];
    }
    List<String> transferEncodings = values("Transfer-Encoding");
    if (!transferEncodings.isEmpty()) {
      String[] codings = String.join(",", transferEncodings).toLowerCase(Locale.ROOT).split(",");
      if (!codings[codings.length - 1].trim().equals("chunked")) {
        // RFC 9112 6.3: without chunked last, the body runs to the end of the connection.
        return reader.toEnd(limit);
      }
      return chunked(reader, limit);
    }
    List<String> contentLengths = values("Content-Length");
    if (!contentLengths.isEmpty()) {
      if (contentLengths.stream().map(String::trim).distinct().count() > 1) {
        throw new MalformedAnswerException("the answer has Content-Lengths that differ: " + contentLengths);
      }
      long length;
      try {
        length = Long.parseLong(contentLengths.get(0).trim());
      } catch (NumberFormatException e) {
        throw new MalformedAnswerException("the answer's Content-Length is not a number: '"
            + Answers.clean(contentLengths.get(0)) + "'");
      }
      if (length < 0) {
        throw new MalformedAnswerException("the answer's Content-Length is negative: " + length);
      }
      if (length > limit) {
        throw new MalformedAnswerException("the answer is " + length + " bytes, more than the " + limit + " read");
      }
      return reader.exactly((int) length, "the answer's " + length + " bytes");
    }
    return reader.toEnd(limit);
  }

  private static byte[] chunked(Reader reader, int limit) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String sizeLine = reader.line("a chunk size");
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
        while (!reader.line("the trailer").isEmpty()) {
          // trailer fields, not used (bounded by the head's size)
        }
        return body.toByteArray();
      }
      body.write(reader.exactly((int) size, "a chunk of " + size + " bytes"));
      if (!reader.line("a chunk's end").isEmpty()) {
        throw new MalformedAnswerException("a chunk of the answer is longer than its size, " + size);
      }
    }
  }

  int status() {
    return status;
  }

  /** The first value of header {@code name} (any case), or null. */
  String header(String name) {
    List<String> values = values(name);
    return values.isEmpty() ? null : values.get(0);
  }

  private List<String> values(String name) {
    List<String> values = new ArrayList<>();
    for (String[] header : headers) {
      if (header[0].equalsIgnoreCase(name)) {
        values.add(header[1]);
      }
    }
    return values;
  }

  /** The body of a 4xx or 5xx answer as one line for a message; "" otherwise. */
  String errorText() {
    return status >= 400 ? Answers.clean(new String(body, 0, Math.min(body.length, Answers.MAX_MESSAGE * 2),
        StandardCharsets.UTF_8)) : "";
  }

  /**
   * This answer as Bouncy Castle's EST client reads it (see the class comment).
   *
   * @throws MalformedAnswerException when a PKCS#7 or CSR attributes body is neither base64 nor
   *     DER, or a header Bouncy Castle needs is longer than it reads
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
        content = withoutTrailingWhitespace(Base64Body.decode(content));
      } catch (IllegalArgumentException e) {
        throw new MalformedAnswerException("the answer's " + mediaType.split(";")[0] + " body: " + e.getMessage());
      }
    }
    String shortReason = reason.length() > 100 ? reason.substring(0, 100) : reason;
    StringBuilder head = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(shortReason).append("\r\n");
    for (String[] header : headers) {
      String name = header[0].toLowerCase(Locale.ROOT);
      boolean passed = PASSED_ON.contains(name)
          || status == 200 && !decode && name.equals("content-transfer-encoding");
      if (passed) {
        append(head, header[0], header[1]);
      }
    }
    if (mediaType != null) {
      append(head, "Content-Type", mediaType);
    }
    head.append("Content-Length: ").append(content.length).append("\r\n\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = java.util.Arrays.copyOf(headBytes, headBytes.length + content.length);
    System.arraycopy(content, 0, all, headBytes.length, content.length);
    return all;
  }

  private static void append(StringBuilder head, String name, String value) throws MalformedAnswerException {
    String line = name + ": " + value;
    if (line.length() > BOUNCY_CASTLE_LINE) {
      throw new MalformedAnswerException("the answer's " + name + " header is " + line.length()
          + " characters, more than the EST client reads");
    }
    head.append(line).append("\r\n");
  }

  /**
   * A binary DER body without the line break or spaces a server may put after it, which Bouncy
   * Castle would take for a second object ("extra content").
   */
  private static byte[] withoutTrailingWhitespace(byte[] der) {
    int end = der.length;
    while (end > 0 && (der[end - 1] == '\r' || der[end - 1] == '\n' || der[end - 1] == ' ' || der[end - 1] == '\t')) {
      end--;
    }
    return end == der.length || end < 2 || der[0] != 0x30 ? der : java.util.Arrays.copyOf(der, end);
  }

  /** {@code Application/PKCS7-MIME; smime-type=certs-only} as {@code application/pkcs7-mime; smime-type=certs-only}. */
  private static String lowerCaseMediaType(String type) {
    int semicolon = type.indexOf(';');
    return semicolon < 0 ? type.trim().toLowerCase(Locale.ROOT)
        : type.substring(0, semicolon).trim().toLowerCase(Locale.ROOT) + type.substring(semicolon);
  }

  /** The connection's bytes, within the answer's deadline and its head's size. */
  private static final class Reader {
    private final InputStream in;
    private final long deadline;
    private final Duration within;
    private int headBytes;

    Reader(InputStream in, long deadline, Duration within) {
      this.in = in;
      this.deadline = deadline;
      this.within = within;
    }

    private void inTime() throws SocketTimeoutException {
      if (System.nanoTime() - deadline > 0) {
        throw new SocketTimeoutException("the answer did not come whole within " + org.estfleet.json.DurationText
            .format(within));
      }
    }

    /** A line without its CRLF or LF. */
    String line(String what) throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      while (true) {
        inTime();
        int b = in.read();
        if (b < 0) {
          throw new IOException(what.equals("the status line") && line.size() == 0
              ? "the connection closed without an answer" : "the connection ended within " + what + " of the answer");
        }
        if (++headBytes > MAX_HEAD) {
          throw new MalformedAnswerException("more than " + MAX_HEAD + " bytes of head in the answer");
        }
        if (b == '\n') {
          byte[] bytes = line.toByteArray();
          int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
          return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
        }
        if (line.size() == MAX_LINE) {
          throw new MalformedAnswerException("a line of more than " + MAX_LINE + " bytes in " + what + " of the answer");
        }
        line.write(b);
      }
    }

    byte[] exactly(int length, String what) throws IOException {
      byte[] bytes = new byte[length];
      int read = 0;
      while (read < length) {
        inTime();
        int n = in.read(bytes, read, Math.min(length - read, 16 * 1024));
        if (n < 0) {
          throw new IOException("the connection ended after " + read + " of " + what);
        }
        read += n;
      }
      return bytes;
    }

    byte[] toEnd(int limit) throws IOException {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      byte[] buffer = new byte[16 * 1024];
      while (true) {
        inTime();
        int n = in.read(buffer);
        if (n < 0) {
          return body.toByteArray();
        }
        if (body.size() + n > limit) {
          throw new MalformedAnswerException("the answer is more than the " + limit + " bytes read");
        }
        body.write(buffer, 0, n);
      }
    }
  }

  /** What the server sent is not an answer this client can read: a bad response, not a network failure. */
  static final class MalformedAnswerException extends IOException {
    MalformedAnswerException(String message) {
      super(message);
    }
  }
}
