package org.estfleet.bench.load;

import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.estfleet.json.Json;

/**
 * Gathers est-load results ({@code --json} files) into one JSON array and a Markdown table, for
 * {@code bench/run.sh}: {@code java -cp est-load.jar org.estfleet.bench.load.Report OUT.json
 * OUT.md HEADING RESULT.json...}.
 */
public final class Report {
  private Report() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 4) {
      System.err.println("usage: Report OUT.json OUT.md HEADING RESULT.json...");
      System.exit(2);
    }
    List<Map<String, Object>> results = new ArrayList<>();
    List<LoadResult> parsed = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      Path file = Path.of(args[i]);
      String json = Files.readString(file, StandardCharsets.UTF_8);
      parsed.add(Json.parse(json, LoadResult.class, file.toString()));
      Map<String, Object> entry = Json.gson().fromJson(json, new TypeToken<Map<String, Object>>() {}.getType());
      entry.put("scenario", scenario(file));
      results.add(entry);
    }
    Files.writeString(Path.of(args[0]), Json.write(results), StandardCharsets.UTF_8);
    String table = table(args[2], parsed, args);
    Files.writeString(Path.of(args[1]), table, StandardCharsets.UTF_8);
    System.out.print(table);
  }

  private static String ms(double value) {
    return String.format(Locale.ROOT, "%.2f", value);
  }

  private static String scenario(Path file) {
    String name = file.getFileName().toString();
    return name.endsWith(".json") ? name.substring(0, name.length() - 5) : name;
  }

  private static String table(String heading, List<LoadResult> results, String[] args) {
    StringBuilder table = new StringBuilder();
    table.append(heading).append("\n\n");
    table.append("| scenario | concurrency | ok/s | p50 ms | p90 ms | p99 ms | max ms | ok | other outcomes |\n");
    table.append("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < results.size(); i++) {
      LoadResult result = results.get(i);
      String scenario = scenario(Path.of(args[i + 3])).replaceAll("-c\\d+$", "");
      StringBuilder other = new StringBuilder();
      result.outcomes().forEach((outcome, count) -> {
        if (!outcome.startsWith("2")) {
          other.append(other.length() == 0 ? "" : ", ").append(outcome).append(": ").append(count);
        }
      });
      LoadResult.Latency latency = result.latencyMs();
      table.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %s | %s | %s | %s | %d | %s |%n", scenario,
          result.concurrency(), result.throughput(), latency == null ? "-" : ms(latency.p50()),
          latency == null ? "-" : ms(latency.p90()), latency == null ? "-" : ms(latency.p99()),
          latency == null ? "-" : ms(latency.max()), result.ok(), other.length() == 0 ? "-" : other));
    }
    return table.toString();
  }
}
