package org.estfleet.server.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.estfleet.io.AtomicFile;
import org.estfleet.json.Json;
import org.estfleet.pki.Certificates;
import org.estfleet.pki.Csr;
import org.estfleet.pki.CsrBuilder;
import org.estfleet.pki.KeyAlgorithm;
import org.estfleet.pki.Pem;
import org.estfleet.server.ca.CaGenerator;
import org.estfleet.server.ca.CaMaterial;
import org.estfleet.server.ca.CertificateProfile;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.LocalCa;
import org.estfleet.server.ca.Requester;
import org.estfleet.server.config.ConfigException;
import org.estfleet.server.config.DataDir;
import org.estfleet.server.config.ServerConfig;
import org.estfleet.server.store.Database;
import org.estfleet.server.store.IssuedCertificates;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code est-server init}: a new data directory with every setting written out, a development
 * CA (root and issuing, EC P-256), a TLS server certificate from that CA, and the database.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
    description = "Create a data directory: server.json, a development CA, a TLS server certificate, the database.")
final class InitCommand implements Callable<Integer> {
  /** A DNS name or an IP literal (IPv4 dotted, or IPv6 with colons). */
  private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|[0-9A-Fa-f:.]+");
  private static final Pattern IP_LITERAL = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");
  private static final Duration TLS_LIFETIME = Duration.ofDays(2 * 365);
  /** What init creates; {@code --force} removes only these. */
  private static final List<String> CREATED = List.of(DataDir.CONFIG_FILE, "ca", "tls", "estfleet.db",
      "estfleet.db-wal", "estfleet.db-shm");

  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DIR", description = "The data directory to create.")
  Path data;

  @Option(names = "--hostname", paramLabel = "NAME",
      description = "A name or IP address for the TLS server certificate; repeat for more (default: localhost and 127.0.0.1).")
  List<String> hostnames = new ArrayList<>();

  @Option(names = "--force", description = "Replace the CA, TLS identity and database of an existing data directory.")
  boolean force;

  @Option(names = "--lifetime", paramLabel = "DURATION",
      description = "Lifetime of device certificates, e.g. 30d (the default) or 90s for a demonstration.")
  Duration lifetime;

  @Override
  public Integer call() throws Exception {
    List<String> names = hostnames.isEmpty() ? List.of("localhost", "127.0.0.1") : List.copyOf(hostnames);
    for (String name : names) {
      if (!HOSTNAME.matcher(name).matches()) {
        throw new ParameterException(spec.commandLine(), "--hostname: '" + name + "' is not a host name or IP address");
      }
    }
    ServerConfig config = ServerConfig.defaults();
    if (lifetime != null) {
      try {
        config = config.withDefaultProfile(config.defaultProfile().withLifetime(lifetime));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--lifetime: " + e.getMessage());
      }
    }
    prepareDirectory();
    Clock clock = Clock.systemUTC();
    SecureRandom random = new SecureRandom();
    DataDir dataDir = DataDir.of(data, config);

    CaGenerator.GeneratedCa ca = new CaGenerator(clock, random).generate("EST Fleet Development");
    writePublic(dataDir.resolve(config.ca().rootCertificate()), Pem.encode(ca.root()));
    writePrivate(dataDir.resolve(config.ca().rootKey()), Pem.encodePrivateKey(ca.rootKeys().getPrivate()));
    writePublic(dataDir.resolve(config.ca().issuingCertificate()), Pem.encode(ca.issuing()));
    writePrivate(dataDir.resolve(config.ca().issuingKey()), Pem.encodePrivateKey(ca.issuingKeys().getPrivate()));

    X509Certificate tls;
    try (Database database = Database.open(dataDir.resolve(config.database().file()))) {
      CaMaterial material = new CaMaterial(ca.root(), ca.issuing(), ca.issuingKeys().getPrivate());
      KeyPair tlsKeys = KeyAlgorithm.EC_P256.generate(random);
      CsrBuilder csr = new CsrBuilder().commonName(names.get(0));
      for (String name : names) {
        csr.subjectAltName(IP_LITERAL.matcher(name).matches()
            ? new GeneralName(GeneralName.iPAddress, name)
            : new GeneralName(GeneralName.dNSName, name));
      }
      Csr request = csr.sign(tlsKeys);
      CertificateProfile tlsProfile = new CertificateProfile(TLS_LIFETIME, Duration.ofMinutes(5),
          KeyUsage.digitalSignature, List.of(KeyPurposeId.id_kp_serverAuth));
      LocalCa localCa = new LocalCa(material, java.util.Map.of(), new IssuedCertificates(database), clock, random);
      tls = localCa.issue(new IssueRequest("", request,
          new Requester(names.get(0), "local", "est-server init (TLS server)", null, null), false), tlsProfile)
          .certificate();
      writePublic(dataDir.resolve(config.tls().certificate()), Pem.encode(List.of(tls, ca.issuing())));
      writePrivate(dataDir.resolve(config.tls().key()), Pem.encodePrivateKey(tlsKeys.getPrivate()));
    }
    writePublic(data.resolve(DataDir.CONFIG_FILE), Json.write(config));

    PrintWriter out = spec.commandLine().getOut();
    out.println("initialized " + data);
    out.println("  root CA:     " + ca.root().getSubjectX500Principal().getName()
        + " (sha256 " + Certificates.fingerprint(ca.root()) + ")");
    out.println("  trust file:  " + dataDir.resolve(config.ca().rootCertificate()));
    out.println("  TLS server:  " + String.join(", ", names) + ", valid until " + tls.getNotAfter().toInstant());
    out.println("  next:        est-server serve --data " + data);
    return EstServerCommand.EXIT_OK;
  }

  private void prepareDirectory() throws IOException, ConfigException {
    if (Files.exists(data) && !Files.isDirectory(data)) {
      throw new ConfigException(data + " exists and is not a directory");
    }
    if (Files.isDirectory(data)) {
      boolean empty;
      try (Stream<Path> entries = Files.list(data)) {
        empty = entries.findAny().isEmpty();
      }
      if (!empty && !force) {
        throw new ConfigException(data + " already exists and is not empty; "
            + "use --force to replace its CA, TLS identity and database");
      }
      for (String entry : CREATED) {
        deleteRecursively(data.resolve(entry));
      }
    } else {
      Files.createDirectories(data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path entry : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(entry);
      }
    }
  }

  private static void writePublic(Path file, String text) throws IOException {
    AtomicFile.write(file, text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PUBLIC);
  }

  private static void writePrivate(Path file, String text) throws IOException {
    AtomicFile.write(file, text.getBytes(StandardCharsets.US_ASCII), AtomicFile.PRIVATE);
  }
}
