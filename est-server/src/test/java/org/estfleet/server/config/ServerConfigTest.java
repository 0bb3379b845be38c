package org.estfleet.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.estfleet.json.Json;
import org.junit.jupiter.api.Test;

/** What {@code server.json} says beyond its fields (its refusals are in CommandLineTest). */
class ServerConfigTest {
  private static ServerConfig parse(String json) {
    return Json.parse(json, ServerConfig.class, "server.json");
  }

  @Test
  void profilesWhoseKeysCannotSign_namesEachAsTheConfigurationDoes() {
    assertEquals(List.of(), ServerConfig.defaults().profilesWhoseKeysCannotSign());
    assertEquals(List.of("defaultProfile", "labels.encryption"), parse("{\"defaultProfile\": {\"keyUsage\": "
        + "[\"keyAgreement\"]}, \"labels\": {\"encryption\": {\"keyUsage\": [\"keyEncipherment\", \"keyAgreement\"]}, "
        + "\"signing\": {\"keyUsage\": [\"digitalSignature\", \"keyAgreement\"]}}}").profilesWhoseKeysCannotSign());
    assertEquals(List.of(), parse("{\"mode\": \"gateway\", \"gateway\": {\"upstream\": \"https://ca.example:8443\"}}")
        .profilesWhoseKeysCannotSign());
  }
}
