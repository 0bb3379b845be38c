package org.estfleet.server.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.estfleet.json.Json;
import org.estfleet.pki.KeyPairs;
import org.estfleet.pki.Pem;

/**
 * The server's data directory: {@code server.json}, the CA and TLS material it points to, and
 * the database. Every problem reading it is a {@link ConfigException} naming the file.
 */
public final class DataDir {
  public static final String CONFIG_FILE = "server.json";

  private final Path root;
  private final ServerConfig config;

  private DataDir(Path root, ServerConfig config) {
    this.root = root;
    this.config = config;
  }

  /**
   * Opens an initialised data directory and reads its configuration.
   *
   * @throws ConfigException if the directory or {@code server.json} is missing or invalid
   */
  public static DataDir open(Path root) throws ConfigException {
    Path absolute = root.toAbsolutePath().normalize();
    if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
      throw new ConfigException(root + " is a file, not a data directory");
    }
    if (!Files.isDirectory(absolute)) {
      throw new ConfigException(
          root + ": no such data directory; create one with: est-server init --data " + root);
    }
    Path file = absolute.resolve(CONFIG_FILE);
    String json;
    try {
      json = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(
          file + ": missing; is " + root + " a data directory made by est-server init?", e);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
    try {
      return new DataDir(absolute, Json.parse(json, ServerConfig.class, file.toString()));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }

  /** A data directory at {@code root} with a configuration that is not read from disk. */
  public static DataDir of(Path root, ServerConfig config) {
    return new DataDir(root.toAbsolutePath().normalize(), config);
  }

  public Path root() {
    return root;
  }

  public ServerConfig config() {
    return config;
  }

  /** A path from the configuration, resolved against the data directory. */
  public Path resolve(Path path) {
    return root.resolve(path);
  }

  /** The certificates of a PEM file named in the configuration. */
  public List<X509Certificate> readCertificates(Path path) throws ConfigException {
    try {
      return Pem.readCertificates(resolve(path));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }

  /**
   * The server's TLS key and chain, as {@code tls} names them; a replacement of the pair that a
   * crash interrupted is completed first ({@link TlsPairFiles#recover}).
   *
   * @throws ConfigException if the files are unreadable or the key is not the certificate's
   */
  public TlsPairFiles.Pair readTls() throws ConfigException, IOException {
    Path certificate = config.tls().certificate();
    Path key = config.tls().key();
    TlsPairFiles.recover(resolve(certificate), resolve(key));
    List<X509Certificate> chain = readCertificates(certificate);
    PrivateKey privateKey = readPrivateKey(key);
    if (!KeyPairs.matches(chain.get(0).getPublicKey(), privateKey)) {
      throw new ConfigException(resolve(key) + ": this key does not belong to the TLS certificate "
          + resolve(certificate));
    }
    return new TlsPairFiles.Pair(privateKey, chain);
  }

  /** The private key of a PEM file named in the configuration. */
  public PrivateKey readPrivateKey(Path path) throws ConfigException {
    try {
      return Pem.readPrivateKey(resolve(path));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }
}
