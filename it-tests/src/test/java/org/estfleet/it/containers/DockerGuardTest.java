package org.estfleet.it.containers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.testcontainers.DockerClientFactory;

/**
 * Where CI promises Docker ({@code TC_REQUIRE_DOCKER=true}, set by {@code .ci/run} through
 * {@code docker-testenv.sh}), the container suites must not skip: this fails instead.
 */
class DockerGuardTest {
  @Test
  @EnabledIfEnvironmentVariable(named = "TC_REQUIRE_DOCKER", matches = "true")
  void dockerIsUsableWhereRequired() {
    assertTrue(DockerClientFactory.instance().isDockerAvailable(),
        "TC_REQUIRE_DOCKER=true but Docker is not usable: the container suites would skip");
  }
}
