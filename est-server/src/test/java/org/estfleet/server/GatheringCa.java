package org.estfleet.server;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.estfleet.est.EstException;
import org.estfleet.server.ca.CertificateAuthority;
import org.estfleet.server.ca.IssueRequest;
import org.estfleet.server.ca.IssueResult;

/**
 * A CA that, while {@code gathering} holds, lets each request in only once {@code in} has been
 * counted down by as many requests as it counts (or after 30 s): requests sent at once then
 * reach the CA behind it together, past every check made before it.
 */
public class GatheringCa extends ForwardingCa {
  private final CountDownLatch in;
  private final BooleanSupplier gathering;

  public GatheringCa(CertificateAuthority delegate, CountDownLatch in, BooleanSupplier gathering) {
    super(delegate);
    this.in = in;
    this.gathering = gathering;
  }

  @Override
  public IssueResult issue(IssueRequest request) throws EstException {
    if (gathering.getAsBoolean()) {
      in.countDown();
      try {
        in.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return super.issue(request);
  }
}
