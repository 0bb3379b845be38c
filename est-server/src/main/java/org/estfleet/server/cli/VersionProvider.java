package org.estfleet.server.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest, or "development" when run from classes. */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = EstServerCommand.class.getPackage().getImplementationVersion();
    return new String[] {"est-server " + (version == null ? "development" : version)};
  }
}
