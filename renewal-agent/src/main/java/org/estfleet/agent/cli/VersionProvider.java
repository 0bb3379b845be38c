package org.estfleet.agent.cli;

import org.estfleet.agent.BuildInfo;
import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest and the build time. */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = RenewalAgentCommand.class.getPackage().getImplementationVersion();
    return new String[] {"renewal-agent " + (version == null ? "development" : version) + ", built " + BuildInfo.timestamp()};
  }
}
