package org.estfleet.agent.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.estfleet.json.Json;
import org.estfleet.tls.TlsProvider;
import org.junit.jupiter.api.Test;

/** agent.json values that would make the agent do something other than what its operator meant. */
class AgentConfigTest {
  private static AgentConfig parse(String json) {
    return Json.parse(json, AgentConfig.class, "agent.json");
  }

  @Test
  void valuesThatWouldBeIgnoredLeakedOrFlood_areRefused() {
    Map<String, String> refused = new LinkedHashMap<>();
    refused.put("{\"identity\": \"\", \"endpoints\": [\"https://ca.example\"]}", "identity: the device's identity");
    refused.put("{\"identity\": \"" + "d".repeat(65) + "\", \"endpoints\": [\"https://ca.example\"]}",
        "identity: 65 characters, more than the 64 a certificate's CN holds (RFC 5280)");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example/est/x\"]}", "is not an https://host[:port] URL");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example?x=1\"]}", "is not an https://host[:port] URL");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://user:secret@ca.example\"]}", "no path, query or user info");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example:99999\"]}", "the port 1 to 65535");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example:0\"]}", "the port 1 to 65535");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example\"], \"retry\": {\"initial\": \"1ms\"}}",
        "retry: initial must be at least 1s");
    refused.put("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example\"], \"tls\": {\"provider\": \"bcjsse\"}}",
        "bcjsse");
    for (Map.Entry<String, String> bad : refused.entrySet()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(bad.getKey()), bad.getKey());

      assertTrue(e.getMessage().contains(bad.getValue()), bad.getKey() + ": " + e.getMessage());
    }
  }

  @Test
  void anAgentJsonWrittenBeforeTheTlsSetting_isTheJdksTls() {
    assertEquals(TlsProvider.SUN_JSSE,
        parse("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example\"]}").tls().provider());
    assertEquals(TlsProvider.BCJSSE, parse("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example\"], "
        + "\"tls\": {\"provider\": \"BCJSSE\"}}").tls().provider());
  }

  @Test
  void anEndpointWithATrailingSlash_isTheSameServer() {
    assertEquals(List.of(java.net.URI.create("https://ca.example:8443"), java.net.URI.create("https://gw.example")),
        parse("{\"identity\": \"d\", \"endpoints\": [\"https://ca.example:8443/\", \"https://gw.example\", "
            + "\"https://ca.example:8443\"]}").endpoints());
  }
}
