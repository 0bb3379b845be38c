package org.estfleet.json;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Test fixture: edits JSON configuration files the way a person would, one patch at a time. */
public final class JsonFiles {
  private JsonFiles() {}

  /** Deep-merges the JSON object {@code patch} into the JSON object in {@code file}. */
  public static void patch(Path file, String patch) throws IOException {
    JsonObject document = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
    merge(document, JsonParser.parseString(patch).getAsJsonObject());
    Files.writeString(file, document.toString(), StandardCharsets.UTF_8);
  }

  private static void merge(JsonObject target, JsonObject patch) {
    for (Map.Entry<String, JsonElement> entry : patch.entrySet()) {
      JsonElement existing = target.get(entry.getKey());
      if (existing != null && existing.isJsonObject() && entry.getValue().isJsonObject()) {
        merge(existing.getAsJsonObject(), entry.getValue().getAsJsonObject());
      } else {
        target.add(entry.getKey(), entry.getValue());
      }
    }
  }
}
