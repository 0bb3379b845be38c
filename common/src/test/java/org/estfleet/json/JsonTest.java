package org.estfleet.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.annotations.SerializedName;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  enum Color {
    @SerializedName("red") RED,
    GREEN_BLUE
  }

  record Inner(Duration every, Color color) {
    Inner {
      every = every == null ? Duration.ofHours(1) : every;
      if (every.isZero()) {
        throw new IllegalArgumentException("every must be positive");
      }
    }
  }

  record Outer(String name, Instant at, Path file, Inner inner, List<Inner> list, Map<String, Inner> map) {}

  record Typed(Integer port, long size, Boolean flag, String name, Inner inner, List<Color> colors) {}

  @Test
  void roundTrip_allAdapters() {
    Outer outer = new Outer("x", Instant.parse("2030-01-02T03:04:05Z"), Path.of("a/b"),
        new Inner(Duration.ofDays(30), Color.RED), List.of(new Inner(Duration.ofSeconds(5), Color.GREEN_BLUE)),
        Map.of("k", new Inner(Duration.ofMinutes(1), Color.RED)));

    String json = Json.write(outer);

    assertTrue(json.contains("\"every\": \"30d\""), json);
    assertTrue(json.contains("\"color\": \"red\""), json);
    assertTrue(json.contains("\"color\": \"green_blue\""), json);
    assertEquals(outer, Json.parse(json, Outer.class, "test"));
  }

  @Test
  void parse_missingKeysTakeRecordDefaults() {
    Outer outer = Json.parse("{\"inner\": {}}", Outer.class, "test");

    assertEquals(Duration.ofHours(1), outer.inner().every());
  }

  @Test
  void parse_unknownKeyNamesFullPath() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"map\": {\"k\": {\"evry\": \"1h\"}}}", Outer.class, "cfg.json"));

    assertEquals("cfg.json: unknown key 'evry' at $.map.k; known keys: color, every", e.getMessage());
  }

  @Test
  void parse_unknownKeyInListElement() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"list\": [{}, {\"x\": 1}]}", Outer.class, "cfg.json"));

    assertTrue(e.getMessage().startsWith("cfg.json: unknown key 'x' at $.list[1]"), e.getMessage());
  }

  @Test
  void parse_unknownEnumValueIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"inner\": {\"color\": \"blue\"}}", Outer.class, "cfg.json"));

    assertEquals("cfg.json: invalid value 'blue' at $.inner.color; use one of [red, green_blue]", e.getMessage());
  }

  @Test
  void parse_anEmptyPathIsAnError_notTheDirectoryItWouldBeResolvedAgainst() {
    IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"file\": \"\"}", Outer.class, "cfg.json"));
    IllegalArgumentException blank = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"file\": \" \"}", Outer.class, "cfg.json"));
    IllegalArgumentException nul = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"file\": \"a\\u0000b\"}", Outer.class, "cfg.json"));

    assertEquals("cfg.json: an empty path at $.file: name a file", empty.getMessage());
    assertEquals("cfg.json: an empty path at $.file: name a file", blank.getMessage());
    assertTrue(nul.getMessage().startsWith("cfg.json: invalid path at $.file: "), nul.getMessage());
  }

  @Test
  void parse_badDurationNamesPath() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"inner\": {\"every\": \"soon\"}}", Outer.class, "cfg.json"));

    assertTrue(e.getMessage().contains("invalid duration 'soon'"), e.getMessage());
    assertTrue(e.getMessage().contains("$.inner.every"), e.getMessage());
  }

  @Test
  void parse_constructorValidationMessageSurfaces() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"inner\": {\"every\": \"0s\"}}", Outer.class, "cfg.json"));

    assertEquals("cfg.json: $.inner: every must be positive", e.getMessage());
  }

  @Test
  void parse_aValueOfTheWrongJsonType_isRefusedNotConverted() {
    Map<String, String> refused = new java.util.LinkedHashMap<>();
    refused.put("{\"port\": \"8443\"}", "expected a whole number at $.port, found the string \"8443\"");
    refused.put("{\"port\": 8443.7}", "8443.7 at $.port is not a whole number");
    refused.put("{\"port\": 99999999999999}", "99999999999999 at $.port is out of range (-2147483648 to 2147483647)");
    refused.put("{\"size\": 1e400}", "1E+400 at $.size is out of range (-9223372036854775808 to 9223372036854775807)");
    refused.put("{\"flag\": \"yes\"}", "expected true or false at $.flag, found the string \"yes\"");
    refused.put("{\"name\": 5}", "expected a string at $.name, found the number 5");
    refused.put("{\"inner\": []}", "expected an object at $.inner, found an array");
    refused.put("{\"colors\": {\"red\": 1}}", "expected an array at $.colors, found an object");
    refused.put("{\"colors\": [1]}", "expected a string at $.colors[0], found the number 1");
    refused.put("{\"inner\": {\"every\": 60}}", "expected a string at $.inner.every, found the number 60");
    refused.put("{\"colors\": [\"red\", null]}", "null at $.colors[1]; give a value or leave the entry out");
    refused.put("{\"port\": null}", "null at $.port; give a value, or leave the key out for its default");
    refused.put("{\"inner\": {\"color\": null}}",
        "null at $.inner.color; give a value, or leave the key out for its default");
    for (Map.Entry<String, String> bad : refused.entrySet()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Json.parse(bad.getKey(), Typed.class, "cfg.json"), bad.getKey());

      assertEquals("cfg.json: " + bad.getValue(), e.getMessage(), bad.getKey());
    }
    Typed typed = Json.parse("{\"port\": 8443, \"size\": 1e3, \"flag\": true, \"colors\": [\"red\"]}", Typed.class, "c");
    assertEquals(new Typed(8443, 1000, true, null, null, List.of(Color.RED)), typed);
  }

  @Test
  void parse_aKeyGivenTwice_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"inner\": {\"every\": \"1h\", \"every\": \"2h\"}}", Outer.class, "cfg.json"));

    assertEquals("cfg.json: key 'every' given twice at $.inner.every", e.getMessage());
  }

  @Test
  void parse_malformedJson_saysWhatStrictJsonIs_notHowToParseLeniently() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Json.parse("{\"name\": \"x\" /* the device */}", Outer.class, "cfg.json"));

    assertTrue(e.getMessage().startsWith("cfg.json: not strict JSON (no comments, trailing commas"), e.getMessage());
    assertTrue(e.getMessage().contains("line 1 column"), e.getMessage());
    assertTrue(!e.getMessage().contains("LENIENT"), e.getMessage());
  }

  @Test
  void parse_strictSyntax() {
    assertThrows(IllegalArgumentException.class, () -> Json.parse("{'name': 'x'}", Outer.class, "c"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"name\": \"x\",}", Outer.class, "c"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("{} {}", Outer.class, "c"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("", Outer.class, "c"));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("[]", Outer.class, "c"));
  }
}
