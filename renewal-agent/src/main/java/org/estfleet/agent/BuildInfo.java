package org.estfleet.agent;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Properties;

/** Facts about this build of the agent. */
public final class BuildInfo {
  private BuildInfo() {}

  /**
   * When the agent was built. A device clock earlier than this is certainly wrong, which is how
   * the agent recognises a clock reset to 1970 or to the factory date. {@link Instant#EPOCH} when
   * unknown (running from unfiltered classes).
   */
  public static Instant timestamp() {
    try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
      if (in == null) {
        return Instant.EPOCH;
      }
      Properties properties = new Properties();
      properties.load(in);
      return Instant.parse(properties.getProperty("build.timestamp", ""));
    } catch (IOException | DateTimeParseException e) {
      return Instant.EPOCH;
    }
  }
}
