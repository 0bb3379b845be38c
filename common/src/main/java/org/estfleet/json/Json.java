package org.estfleet.json;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.JsonArray;
import com.google.gson.TypeAdapterFactory;
import com.google.gson.annotations.SerializedName;
import com.google.gson.reflect.TypeToken;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringReader;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The project's one JSON setup. Strict both ways a configuration mistake can hide: the syntax is
 * strict JSON (no comments, no trailing commas), and an unknown key or enum value is an error
 * that names itself, instead of being silently ignored. Durations are written as
 * {@link DurationText}, instants as ISO-8601, paths as strings.
 *
 * <p>Objects are records; a key that is absent reads as {@code null}, which a record's compact
 * constructor replaces with its default.
 */
public final class Json {
  private static final Gson GSON =
      new GsonBuilder()
          .setStrictness(Strictness.STRICT)
          .setPrettyPrinting()
          .disableHtmlEscaping()
          .registerTypeAdapter(Duration.class, nullSafe(new DurationAdapter()))
          .registerTypeAdapter(Instant.class, nullSafe(new InstantAdapter()))
          .registerTypeHierarchyAdapter(Path.class, nullSafe(new PathAdapter()))
          .registerTypeAdapterFactory(new StrictEnums())
          .create();

  private Json() {}

  /** The shared, immutable, thread-safe {@link Gson}. */
  public static Gson gson() {
    return GSON;
  }

  /**
   * Parses a JSON document into a record.
   *
   * @param source names the document in the error message, e.g. a file name
   * @throws IllegalArgumentException naming the source, the JSON path and the problem
   */
  public static <T> T parse(String json, Class<T> type, String source) {
    try {
      JsonReader reader = new JsonReader(new StringReader(json));
      reader.setStrictness(Strictness.STRICT);
      JsonElement tree = GSON.getAdapter(JsonElement.class).read(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw new IllegalArgumentException(source + ": unexpected content after the JSON value");
      }
      if (tree.isJsonNull()) {
        throw new IllegalArgumentException(source + ": empty document; expected a JSON object");
      }
      checkKeys(tree, type, "$");
      return GSON.fromJson(tree, type);
    } catch (JsonParseException | IOException | IllegalStateException e) {
      throw new IllegalArgumentException(source + ": " + describe(e), e);
    } catch (RuntimeException e) {
      // Gson wraps what a record's compact constructor throws (an IllegalArgumentException
      // saying which value is wrong) in a RuntimeException of its own.
      Throwable cause = e;
      while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
        cause = cause.getCause();
      }
      throw new IllegalArgumentException(source + ": " + cause.getMessage(), e);
    }
  }

  /** The pretty-printed JSON of a value, ending with a newline. */
  public static String write(Object value) {
    return GSON.toJson(value) + "\n";
  }

  private static String describe(Exception e) {
    Throwable root = e;
    while (root instanceof JsonParseException && root.getCause() != null) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? root.toString() : root.getMessage();
    // Gson appends a troubleshooting URL to some messages; it helps nobody editing a config file.
    int see = message.indexOf("\nSee https://");
    return see < 0 ? message : message.substring(0, see);
  }

  private static <T> TypeAdapter<T> nullSafe(TypeAdapter<T> adapter) {
    return adapter.nullSafe();
  }

  private static final class DurationAdapter extends TypeAdapter<Duration> {
    @Override
    public void write(JsonWriter out, Duration value) throws IOException {
      out.value(DurationText.format(value));
    }

    @Override
    public Duration read(JsonReader in) throws IOException {
      String text = in.nextString();
      try {
        return DurationText.parse(text);
      } catch (IllegalArgumentException e) {
        throw new JsonParseException(e.getMessage() + " at " + in.getPreviousPath());
      }
    }
  }

  private static final class InstantAdapter extends TypeAdapter<Instant> {
    @Override
    public void write(JsonWriter out, Instant value) throws IOException {
      out.value(value.toString());
    }

    @Override
    public Instant read(JsonReader in) throws IOException {
      String text = in.nextString();
      try {
        return Instant.parse(text);
      } catch (DateTimeParseException e) {
        throw new JsonParseException(
            "invalid instant '" + text + "' at " + in.getPreviousPath()
                + ": use ISO-8601 UTC, e.g. 2030-01-31T12:00:00Z");
      }
    }
  }

  private static final class PathAdapter extends TypeAdapter<Path> {
    @Override
    public void write(JsonWriter out, Path value) throws IOException {
      out.value(value.toString());
    }

    @Override
    public Path read(JsonReader in) throws IOException {
      return Path.of(in.nextString());
    }
  }

  /** Enums by their {@code @SerializedName} (or lower-case name); unknown values are errors. */
  private static final class StrictEnums implements TypeAdapterFactory {
    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public <T> TypeAdapter<T> create(Gson gson, TypeToken<T> type) {
      Class<? super T> raw = type.getRawType();
      if (!Enum.class.isAssignableFrom(raw) || raw == Enum.class) {
        return null;
      }
      if (!raw.isEnum()) {
        raw = raw.getSuperclass();
      }
      return (TypeAdapter<T>) new EnumAdapter((Class) raw).nullSafe();
    }
  }

  private static final class EnumAdapter<E extends Enum<E>> extends TypeAdapter<E> {
    private final Map<String, E> byName = new LinkedHashMap<>();
    private final Map<E, String> names = new LinkedHashMap<>();

    EnumAdapter(Class<E> type) {
      for (E constant : type.getEnumConstants()) {
        String name = constant.name().toLowerCase(Locale.ROOT);
        try {
          SerializedName annotation = type.getField(constant.name()).getAnnotation(SerializedName.class);
          if (annotation != null) {
            name = annotation.value();
          }
        } catch (NoSuchFieldException e) {
          throw new IllegalStateException(e);
        }
        byName.put(name, constant);
        names.put(constant, name);
      }
    }

    @Override
    public void write(JsonWriter out, E value) throws IOException {
      out.value(names.get(value));
    }

    @Override
    public E read(JsonReader in) throws IOException {
      String text = in.nextString();
      E value = byName.get(text);
      if (value == null) {
        throw new JsonParseException(
            "invalid value '" + text + "' at " + in.getPreviousPath() + "; use one of " + byName.keySet());
      }
      return value;
    }
  }

  /**
   * Refuses keys that name no record component, walking the document along the target type so
   * that the message carries the full JSON path of the stray key.
   */
  private static void checkKeys(JsonElement element, Type type, String path) {
    if (element == null || element.isJsonNull()) {
      return;
    }
    Class<?> raw = TypeToken.get(type).getRawType();
    if (raw.isRecord() && element.isJsonObject()) {
      Map<String, Type> components = new LinkedHashMap<>();
      for (RecordComponent component : raw.getRecordComponents()) {
        SerializedName name = component.getAnnotation(SerializedName.class);
        if (name == null) {
          components.put(component.getName(), component.getGenericType());
        } else {
          components.put(name.value(), component.getGenericType());
          Arrays.stream(name.alternate()).forEach(a -> components.put(a, component.getGenericType()));
        }
      }
      for (Map.Entry<String, JsonElement> entry : element.getAsJsonObject().entrySet()) {
        Type componentType = components.get(entry.getKey());
        if (componentType == null) {
          throw new JsonParseException("unknown key '" + entry.getKey() + "' at " + path
              + "; known keys: " + String.join(", ", new TreeSet<>(components.keySet())));
        }
        checkKeys(entry.getValue(), componentType, path + "." + entry.getKey());
      }
    } else if (type instanceof ParameterizedType parameterized) {
      Type[] arguments = parameterized.getActualTypeArguments();
      if (Collection.class.isAssignableFrom(raw) && element.isJsonArray()) {
        JsonArray array = element.getAsJsonArray();
        for (int i = 0; i < array.size(); i++) {
          checkKeys(array.get(i), arguments[0], path + "[" + i + "]");
        }
      } else if (Map.class.isAssignableFrom(raw) && element.isJsonObject()) {
        for (Map.Entry<String, JsonElement> entry : element.getAsJsonObject().entrySet()) {
          checkKeys(entry.getValue(), arguments[1], path + "." + entry.getKey());
        }
      }
    }
  }
}
