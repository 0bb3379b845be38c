package org.estfleet.it.containers;

import java.nio.file.Path;
import org.estfleet.it.Project;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * The project's images, built from each module's Dockerfile and packaged jar. The base image is
 * {@code -Destfleet.baseImage} (or {@code ESTFLEET_BASE_IMAGE}), by default {@code local/jre17:1},
 * the image {@code docker-testenv.sh} builds where no registry is reachable.
 */
final class Images {
  static final String BASE = System.getProperty("estfleet.baseImage",
      System.getenv().getOrDefault("ESTFLEET_BASE_IMAGE", "local/jre17:1"));

  private Images() {}

  static ImageFromDockerfile estServer() {
    return image("est-server");
  }

  static ImageFromDockerfile renewalAgent() {
    return image("renewal-agent");
  }

  private static ImageFromDockerfile image(String module) {
    Path jar = Project.jar(module + "/target/" + module + ".jar");
    return new ImageFromDockerfile("estfleet/" + module + "-test", false)
        .withFileFromPath("Dockerfile", Project.ROOT.resolve(module).resolve("Dockerfile"))
        .withFileFromPath("target/" + module + ".jar", jar)
        .withBuildArg("BASE_IMAGE", base());
  }

  private static String base;

  /**
   * The base image, with glibc's {@code libpthread.so.0} added when the host has one: SQLite's
   * native library (sqlite-jdbc) links against it, and a minimal jlink image such as
   * {@code local/jre17:1} carries only what the JRE itself needs. Standard JRE images have it.
   */
  private static synchronized String base() {
    if (base == null) {
      Path pthread = Path.of("/lib/x86_64-linux-gnu/libpthread.so.0");
      base = !java.nio.file.Files.exists(pthread) ? BASE : new ImageFromDockerfile("estfleet/test-base", false)
          .withFileFromPath("libpthread.so.0", pthread)
          .withDockerfileFromBuilder(dockerfile -> dockerfile.from(BASE)
              .copy("libpthread.so.0", "/lib/x86_64-linux-gnu/libpthread.so.0")
              .build())
          .get();
    }
    return base;
  }
}
