package org.estfleet.bench.jmh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.estfleet.server.metrics.ServerMetrics;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * What {@code /metrics} costs: what every enrollment adds (its answer counted and timed, its
 * result counted), alone and from 8 threads at once (as under est-load at concurrency 8), and one
 * scrape of a CA's figures, the JVM's included.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MetricsBenchmark {
  private ServerMetrics metrics;

  @Setup
  public void setUp() {
    metrics = new ServerMetrics("ca", "bench");
    metrics.register(() -> new ServerMetrics.Gauges().add("estfleet_ledger_issued_certificates", "bench", 1));
  }

  @Benchmark
  public void enrollmentCounted() {
    metrics.response("simpleenroll", 200, 6_000_000);
    metrics.enrollment("simpleenroll", "issued");
  }

  @Benchmark
  @Threads(8)
  public void enrollmentCounted8Threads() {
    metrics.response("simpleenroll", 200, 6_000_000);
    metrics.enrollment("simpleenroll", "issued");
  }

  @Benchmark
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public int scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    metrics.write(out);
    return out.size();
  }
}
