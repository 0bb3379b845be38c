package org.estfleet.it.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.estfleet.json.Json;

/**
 * What a scenario did, printed and written to {@code it-tests/target/fleet-report.json} (one
 * entry per scenario run in this JVM).
 *
 * @param renewals certificates issued after each device's first
 * @param retries the agents' attempts that ended without a certificate (202, 503, refusals,
 *     unreachable), each followed by another
 * @param responses the servers' responses by HTTP status, summed over servers and restarts (null
 *     where the servers run in containers the test cannot ask)
 * @param maxSecondsWithoutValidCertificate the longest a device went without a valid certificate
 * @param drainSeconds for a herd: from the end of the outage until every device was renewed
 */
public record FleetReport(String scenario, int devices, long renewals, int fewestRenewalsPerDevice, long retries,
    Long responses202,
    Long responses503, Map<String, Long> responses, long maxSecondsWithoutValidCertificate, double durationSeconds,
    Double drainSeconds) {

  private static final List<FleetReport> RUN = new ArrayList<>();
  private static final Path FILE = Path.of("target", "fleet-report.json");

  /** Adds counts of one server run to {@code into}. */
  public static void add(Map<Integer, Long> into, Map<Integer, Long> counts) {
    counts.forEach((status, count) -> into.merge(status, count, Long::sum));
  }

  public static Map<String, Long> named(Map<Integer, Long> counts) {
    Map<String, Long> named = new TreeMap<>();
    counts.forEach((status, count) -> named.put(Integer.toString(status), count));
    return named;
  }

  /** Prints this report and rewrites the report file with every scenario so far. */
  public void publish() throws IOException {
    System.out.printf("fleet %-22s devices %5d  renewals %6d (min %d/device)  retries %5d  202s %5s  503s %5s  "
            + "max without certificate %4ds  took %6.1fs%s%n", scenario, devices, renewals, fewestRenewalsPerDevice,
        retries, responses202, responses503, maxSecondsWithoutValidCertificate, durationSeconds,
        drainSeconds == null ? "" : String.format("  herd drained in %.1fs", drainSeconds));
    synchronized (RUN) {
      RUN.add(this);
      Files.createDirectories(FILE.getParent());
      Files.writeString(FILE, Json.write(RUN), StandardCharsets.UTF_8);
    }
  }
}
