package org.estfleet.json;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
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
 * constructor replaces with its default. An explicit {@code null} is an error (as in a list or a
 * map): leaving the key out is the one way to ask for the default.
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
          .registerTypeAdapterFactory(new LocatedRecords())
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
      JsonElement tree = readTree(reader);
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
    // Gson appends a troubleshooting URL to some messages, and advises lenient parsing for
    // malformed JSON; neither helps anyone editing a config file.
    int see = message.indexOf("\nSee https://");
    message = see < 0 ? message : message.substring(0, see);
    return message.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON",
        "not strict JSON (no comments, trailing commas, single quotes, unquoted names or NaN)");
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
      String text = in.nextString();
      // An empty path would name the directory it is resolved against, and be refused as that.
      if (text.isBlank()) {
        throw new JsonParseException("an empty path at " + in.getPreviousPath() + ": name a file");
      }
      try {
        return Path.of(text);
      } catch (java.nio.file.InvalidPathException e) {
        throw new JsonParseException("invalid path at " + in.getPreviousPath() + ": " + e.getMessage());
      }
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
   * Refuses keys that name no record component, and values of the wrong JSON type, walking the
   * document along the target type so that the message carries the full JSON path.
   */
  private static void checkKeys(JsonElement element, Type type, String path) {
    if (element == null || element.isJsonNull()) {
      return;
    }
    Class<?> raw = TypeToken.get(type).getRawType();
    checkType(element, raw, path);
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
        if (entry.getValue().isJsonNull()) {
          // An absent key takes its default; an explicit null would silently do the same, and
          // "mode": null or "csrAttributes": null read as meaning something else.
          throw new JsonParseException("null at " + path + "." + entry.getKey()
              + "; give a value, or leave the key out for its default");
        }
        checkKeys(entry.getValue(), componentType, path + "." + entry.getKey());
      }
    } else if (type instanceof ParameterizedType parameterized) {
      Type[] arguments = parameterized.getActualTypeArguments();
      if (Collection.class.isAssignableFrom(raw) && element.isJsonArray()) {
        JsonArray array = element.getAsJsonArray();
        for (int i = 0; i < array.size(); i++) {
          if (array.get(i).isJsonNull()) {
            throw new JsonParseException("null at " + path + "[" + i + "]; give a value or leave the entry out");
          }
          checkKeys(array.get(i), arguments[0], path + "[" + i + "]");
        }
      } else if (Map.class.isAssignableFrom(raw) && element.isJsonObject()) {
        for (Map.Entry<String, JsonElement> entry : element.getAsJsonObject().entrySet()) {
          if (entry.getValue().isJsonNull()) {
            throw new JsonParseException("null at " + path + "." + entry.getKey() + "; give a value or leave the key out");
          }
          checkKeys(entry.getValue(), arguments[1], path + "." + entry.getKey());
        }
      }
    }
  }

  /**
   * The document as a tree, refusing a key given twice in one object (Gson's tree keeps the last,
   * silently).
   */
  private static JsonElement readTree(JsonReader in) throws IOException {
    switch (in.peek()) {
      case BEGIN_OBJECT -> {
        JsonObject object = new JsonObject();
        in.beginObject();
        while (in.hasNext()) {
          String name = in.nextName();
          if (object.has(name)) {
            throw new JsonParseException("key '" + name + "' given twice at " + in.getPath());
          }
          object.add(name, readTree(in));
        }
        in.endObject();
        return object;
      }
      case BEGIN_ARRAY -> {
        JsonArray array = new JsonArray();
        in.beginArray();
        while (in.hasNext()) {
          array.add(readTree(in));
        }
        in.endArray();
        return array;
      }
      case STRING -> {
        return new JsonPrimitive(in.nextString());
      }
      case NUMBER -> {
        return new JsonPrimitive(new java.math.BigDecimal(in.nextString()));
      }
      case BOOLEAN -> {
        return new JsonPrimitive(in.nextBoolean());
      }
      case NULL -> {
        in.nextNull();
        return JsonNull.INSTANCE;
      }
      default -> throw new JsonParseException("unexpected " + in.peek() + " at " + in.getPath());
    }
  }

  /**
   * Refuses a value of the wrong JSON type for its Java type, which Gson would convert: a number
   * written as a string ("8443"), a fraction or an out-of-range number for an integer (truncated
   * or wrapped), a string for a boolean ("yes" reads as false), a number for a string.
   */
  private static void checkType(JsonElement element, Class<?> raw, String path) {
    String found = element.isJsonObject() ? "an object" : element.isJsonArray() ? "an array"
        : element.getAsJsonPrimitive().isString() ? "the string \"" + element.getAsString() + "\""
        : element.getAsJsonPrimitive().isBoolean() ? element.getAsString() : "the number " + element.getAsString();
    String expected = null;
    if (INTEGERS.containsKey(raw)) {
      if (!element.isJsonPrimitive() || !element.getAsJsonPrimitive().isNumber()) {
        expected = "a whole number";
      } else {
        java.math.BigDecimal value = element.getAsBigDecimal();
        if (value.signum() != 0 && value.stripTrailingZeros().scale() > 0) {
          throw new JsonParseException(value + " at " + path + " is not a whole number");
        }
        long[] range = INTEGERS.get(raw);
        if (value.compareTo(java.math.BigDecimal.valueOf(range[0])) < 0
            || value.compareTo(java.math.BigDecimal.valueOf(range[1])) > 0) {
          throw new JsonParseException(element.getAsString() + " at " + path + " is out of range (" + range[0]
              + " to " + range[1] + ")");
        }
      }
    } else if (raw == double.class || raw == Double.class || raw == float.class || raw == Float.class) {
      expected = element.isJsonPrimitive() && element.getAsJsonPrimitive().isNumber() ? null : "a number";
      if (expected == null && Double.isInfinite(element.getAsDouble())) {
        throw new JsonParseException(element.getAsString() + " at " + path + " is out of range");
      }
    } else if (raw == boolean.class || raw == Boolean.class) {
      expected = element.isJsonPrimitive() && element.getAsJsonPrimitive().isBoolean() ? null : "true or false";
    } else if (raw == String.class || Path.class.isAssignableFrom(raw) || raw == Duration.class
        || raw == Instant.class || raw.isEnum()) {
      expected = element.isJsonPrimitive() && element.getAsJsonPrimitive().isString() ? null : "a string";
    } else if (raw.isRecord() || Map.class.isAssignableFrom(raw)) {
      expected = element.isJsonObject() ? null : "an object";
    } else if (Collection.class.isAssignableFrom(raw)) {
      expected = element.isJsonArray() ? null : "an array";
    }
    if (expected != null) {
      throw new JsonParseException("expected " + expected + " at " + path + ", found " + found);
    }
  }

  private static final Map<Class<?>, long[]> INTEGERS = Map.of(
      int.class, new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE},
      Integer.class, new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE},
      long.class, new long[] {Long.MIN_VALUE, Long.MAX_VALUE},
      Long.class, new long[] {Long.MIN_VALUE, Long.MAX_VALUE},
      short.class, new long[] {Short.MIN_VALUE, Short.MAX_VALUE},
      Short.class, new long[] {Short.MIN_VALUE, Short.MAX_VALUE});

  /** A value a record's constructor refuses, reported with the JSON path of that record. */
  private static final class LocatedRecords implements TypeAdapterFactory {
    @Override
    public <T> TypeAdapter<T> create(Gson gson, TypeToken<T> type) {
      if (!type.getRawType().isRecord()) {
        return null;
      }
      TypeAdapter<T> delegate = gson.getDelegateAdapter(this, type);
      return new TypeAdapter<>() {
        @Override
        public void write(JsonWriter out, T value) throws IOException {
          delegate.write(out, value);
        }

        @Override
        public T read(JsonReader in) throws IOException {
          String path = in.getPath();
          try {
            return delegate.read(in);
          } catch (Located e) {
            throw e;
          } catch (RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
              cause = cause.getCause();
            }
            if (!(cause instanceof IllegalArgumentException) || cause instanceof JsonParseException) {
              throw e;
            }
            throw new Located(("$".equals(path) ? "" : path + ": ") + cause.getMessage());
          }
        }
      };
    }
  }

  private static final class Located extends JsonParseException {
    private static final long serialVersionUID = 1L;

    Located(String message) {
      super(message);
    }
  }
}
