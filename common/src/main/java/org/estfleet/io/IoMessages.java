package org.estfleet.io;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.util.Map;

/**
 * One-line messages for file errors. {@code java.nio.file} reports the commonest ones (a missing
 * file, a denied permission) as an exception whose message is the path alone, so a message built
 * from it names the file and not what went wrong: "cannot read: /x/key.pem". The reason is in the
 * exception's type.
 */
public final class IoMessages {
  /** What the path-only exceptions of java.nio.file mean, as the operating system would say it. */
  private static final Map<Class<? extends FileSystemException>, String> REASONS = Map.of(
      NoSuchFileException.class, "no such file or directory",
      AccessDeniedException.class, "permission denied",
      FileAlreadyExistsException.class, "already exists",
      NotDirectoryException.class, "not a directory",
      DirectoryNotEmptyException.class, "directory not empty",
      NotLinkException.class, "not a symbolic link");

  private IoMessages() {}

  /**
   * {@code message}, the one line a command prints for {@code failure}, with the reason of a file
   * error in its causes that the line does not give: {@code "cannot read: /x/key.pem"} becomes
   * {@code "cannot read: /x/key.pem (permission denied)"}; a file error alone, its file and reason.
   */
  public static String withReason(String message, Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof FileSystemException file && file.getReason() == null) {
        String reason = reason(file);
        if (message == null || message.isBlank()) {
          return describe(file);
        }
        return message.contains(reason) ? message : message + " (" + reason + ")";
      }
    }
    return message;
  }

  /** A file error as {@code FILE: REASON}. */
  public static String describe(FileSystemException e) {
    String file = e.getFile() == null ? "" : e.getFile() + (e.getOtherFile() == null ? "" : " -> " + e.getOtherFile());
    return (file.isEmpty() ? "" : file + ": ") + reason(e);
  }

  /**
   * What went wrong in {@code e}, without the file it names: a file error's reason, another's
   * message ({@code "No space left on device"}).
   */
  public static String reason(java.io.IOException e) {
    return e instanceof AtomicFile.WriteFailure failure ? failure.reason()
        : e instanceof FileSystemException file ? reason(file) : String.valueOf(e.getMessage());
  }

  private static String reason(FileSystemException e) {
    if (e.getReason() != null) {
      return e.getReason();
    }
    // The types are unrelated (none extends another): at most one matches.
    return REASONS.entrySet().stream().filter(type -> type.getKey().isInstance(e)).map(Map.Entry::getValue)
        .findFirst().orElse("file system error");
  }
}
