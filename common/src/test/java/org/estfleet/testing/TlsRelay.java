package org.estfleet.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.tls.NamedGroup;

/**
 * A TCP relay on 127.0.0.1 in front of a TLS server, keeping what the server sends on each
 * connection, so that a test can read the key exchange the server chose off the wire: the groups
 * of its ServerHello key_share (RFC 8446 section 4.2.8, a HelloRetryRequest's included) or of
 * its TLS 1.2 ServerKeyExchange (RFC 8422 section 5.4). Connections are passed on one after the
 * other as clients make them, until the relay is closed.
 */
public final class TlsRelay implements AutoCloseable {
  /** The random of a HelloRetryRequest (RFC 8446 section 4.1.3). */
  private static final byte[] HELLO_RETRY_REQUEST = HexFormat.of()
      .parseHex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");

  private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
  /** What the server sent, by connection, in the order they were accepted. */
  private final List<ByteArrayOutputStream> fromServer = new ArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();
  private boolean closed;

  /** Relays connections to the server on {@code serverPort} of 127.0.0.1. */
  public TlsRelay(int serverPort) throws IOException {
    Thread accepting = new Thread(() -> {
      try {
        while (true) {
          Socket client = kept(listener.accept());
          Socket server;
          try {
            server = kept(new Socket(InetAddress.getByName("127.0.0.1"), serverPort));
          } catch (IOException unreachable) {
            closeQuietly(client); // the client sees the connection end, as it would without the relay
            continue;
          }
          ByteArrayOutputStream kept = new ByteArrayOutputStream();
          synchronized (fromServer) {
            fromServer.add(kept);
          }
          AtomicInteger open = new AtomicInteger(2);
          pump(client, server, null, open);
          pump(server, client, kept, open);
        }
      } catch (IOException closing) {
        // the relay is closed
      }
    }, "tls-relay");
    accepting.setDaemon(true);
    accepting.start();
  }

  /** The port clients connect to. */
  public int port() {
    return listener.getLocalPort();
  }

  /**
   * For each connection so far, the groups the server chose, in the order it sent them
   * ({@code retry G}: a HelloRetryRequest asking for G); empty where no ServerHello came.
   */
  public List<List<String>> chosenGroups() {
    List<List<String>> groups = new ArrayList<>();
    synchronized (fromServer) {
      for (ByteArrayOutputStream connection : fromServer) {
        byte[] bytes;
        synchronized (connection) {
          bytes = connection.toByteArray();
        }
        groups.add(chosen(bytes));
      }
    }
    return groups;
  }

  /** {@code socket}, closed with the relay (at once if the relay is closed already). */
  private Socket kept(Socket socket) throws IOException {
    synchronized (sockets) {
      if (closed) {
        socket.close();
        throw new IOException("relay closed");
      }
      sockets.add(socket);
      return socket;
    }
  }

  /**
   * Passes on what {@code from} sends to {@code to}, until {@code from} ends its output, which
   * {@code to}'s then ends too (each direction closes on its own, as TLS closes); the sockets are
   * closed once both directions have ended ({@code open} counts them).
   */
  private static void pump(Socket from, Socket to, ByteArrayOutputStream kept, AtomicInteger open) {
    Thread pump = new Thread(() -> {
      byte[] buffer = new byte[16384];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        for (int n; (n = in.read(buffer)) >= 0; ) {
          if (kept != null) {
            synchronized (kept) {
              kept.write(buffer, 0, n); // kept before it is passed on: there once the client has it
            }
          }
          out.write(buffer, 0, n);
          out.flush();
        }
        to.shutdownOutput();
        if (open.decrementAndGet() == 0) {
          closeQuietly(from);
          closeQuietly(to);
        }
      } catch (IOException broken) {
        // a reset, or the relay closed: both ends go
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "tls-relay-pump");
    pump.setDaemon(true);
    pump.start();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closed already
    }
  }

  /**
   * The groups in the server's plaintext handshake messages: each ServerHello's key_share, and a
   * TLS 1.2 ServerKeyExchange's named curve. Stops where encryption begins (TLS 1.3) or at
   * ServerHelloDone (TLS 1.2).
   */
  static List<String> chosen(byte[] stream) {
    ByteBuffer records = ByteBuffer.wrap(stream);
    ByteArrayOutputStream handshake = new ByteArrayOutputStream();
    List<String> groups = new ArrayList<>();
    int parsed = 0;
    while (records.remaining() >= 5) {
      int type = records.get() & 0xff;
      records.getShort();
      int length = records.getShort() & 0xffff;
      if (records.remaining() < length) {
        return groups;
      }
      byte[] fragment = new byte[length];
      records.get(fragment);
      if (type == 23) {
        return groups; // application_data: encrypted from here on
      }
      if (type != 22) {
        continue; // change_cipher_spec, alert
      }
      handshake.writeBytes(fragment);
      ByteBuffer messages = ByteBuffer.wrap(handshake.toByteArray());
      messages.position(parsed);
      while (messages.remaining() >= 4) {
        int messageType = messages.get() & 0xff;
        int size = (messages.get() & 0xff) << 16 | (messages.getShort() & 0xffff);
        if (messages.remaining() < size) {
          break;
        }
        ByteBuffer body = messages.slice(messages.position(), size);
        messages.position(messages.position() + size);
        parsed = messages.position();
        switch (messageType) {
          case 2 -> serverHello(body, groups);
          case 12 -> {
            if (body.get() == 3) { // ECCurveType named_curve
              groups.add(NamedGroup.getName(body.getShort() & 0xffff));
            }
          }
          case 14 -> {
            return groups; // ServerHelloDone
          }
          default -> { }
        }
      }
    }
    return groups;
  }

  private static void serverHello(ByteBuffer hello, List<String> groups) {
    hello.getShort(); // legacy_version
    byte[] random = new byte[32];
    hello.get(random);
    boolean retry = Arrays.equals(random, HELLO_RETRY_REQUEST);
    int sessionId = hello.get() & 0xff;
    hello.position(hello.position() + sessionId + 2 + 1); // session id, cipher suite, compression
    if (!hello.hasRemaining()) {
      return;
    }
    int end = hello.position() + 2 + (hello.getShort() & 0xffff);
    while (hello.position() < end) {
      int type = hello.getShort() & 0xffff;
      int size = hello.getShort() & 0xffff;
      if (type == 51) { // key_share: the group first, in a ServerHello and a HelloRetryRequest alike
        groups.add((retry ? "retry " : "") + NamedGroup.getName(hello.getShort() & 0xffff));
        return;
      }
      hello.position(hello.position() + size);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    synchronized (sockets) {
      closed = true;
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }
}
