package org.estfleet.agent.schedule;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import org.estfleet.agent.AgentException;
import org.estfleet.agent.Renewer;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobExecutionContext;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.SimpleScheduleBuilder;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.impl.StdSchedulerFactory;
import org.quartz.spi.JobFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs agents on a Quartz scheduler: for each, a renewal job and a trust refresh job. One
 * scheduler can carry many agents (a fleet simulation runs hundreds in one JVM).
 *
 * <p>Triggers are derived state. Each job, when it runs, asks its {@link Renewer} what to do and
 * when to run next, and schedules exactly that; nothing about timing is persisted in Quartz. So
 * a start (or restart) runs the renewal job at once, which recomputes the due date from the
 * certificate on disk. A trigger that passed while the device slept fires at once on wake-up
 * (misfire: fire now); Quartz never sleeps more than its idle wait (30 s) without checking the
 * wall clock, so a suspended device catches up within that.
 */
public final class AgentScheduler implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AgentScheduler.class);
  private static final String RENEW = "renew";
  private static final String TRUST = "trust";
  private static final Duration MIN_DELAY = Duration.ofSeconds(1);

  private final Scheduler scheduler;
  private final Map<String, Renewer> agents = new ConcurrentHashMap<>();
  private final Clock clock;
  private final RandomGenerator random;
  private final AtomicLong triggerSequence = new AtomicLong();

  /**
   * @param threads how many agents may run an operation at the same time
   */
  public AgentScheduler(int threads, Clock clock, RandomGenerator random) throws SchedulerException {
    this.clock = clock;
    this.random = random;
    Properties properties = new Properties();
    properties.setProperty(StdSchedulerFactory.PROP_SCHED_INSTANCE_NAME, "estfleet-agents-" + UUID.randomUUID());
    properties.setProperty("org.quartz.threadPool.class", "org.quartz.simpl.SimpleThreadPool");
    properties.setProperty("org.quartz.threadPool.threadCount", String.valueOf(threads));
    properties.setProperty("org.quartz.threadPool.threadNamePrefix", "estfleet-agent");
    properties.setProperty(StdSchedulerFactory.PROP_JOB_STORE_CLASS, "org.quartz.simpl.RAMJobStore");
    properties.setProperty("org.quartz.jobStore.misfireThreshold", "1000");
    properties.setProperty("org.quartz.scheduler.batchTriggerAcquisitionMaxCount", String.valueOf(threads));
    scheduler = new StdSchedulerFactory(properties).getScheduler();
    scheduler.setJobFactory(jobFactory());
    scheduler.start();
  }

  /** Starts renewing for an agent: its renewal job runs at once, its trust refresh within a tenth of its interval. */
  public void add(String name, Renewer renewer) throws SchedulerException {
    if (agents.putIfAbsent(name, renewer) != null) {
      throw new IllegalArgumentException("an agent named " + name + " is already scheduled");
    }
    for (String kind : new String[] {RENEW, TRUST}) {
      scheduler.addJob(JobBuilder.newJob(AgentJob.class).withIdentity(kind, name).storeDurably().build(), false);
    }
    Instant now = clock.instant();
    schedule(new JobKey(RENEW, name), now);
    Duration interval = renewer.config().trust().refreshInterval();
    schedule(new JobKey(TRUST, name), now.plusMillis(random.nextLong(Math.max(1, interval.toMillis() / 10))));
  }

  /** Stops an agent's jobs; an operation already running completes. */
  public void remove(String name) throws SchedulerException {
    delete(new JobKey(RENEW, name));
    delete(new JobKey(TRUST, name));
    agents.remove(name);
  }

  /**
   * Deletes a job and its triggers. Quartz lists a job's triggers, then unschedules each, and
   * fails if one is gone by then: a one-shot trigger that fired and completed in between, as an
   * agent's next run does while it is being removed. Listing again finds the triggers as they are.
   */
  private void delete(JobKey job) throws SchedulerException {
    for (int attempt = 1; ; attempt++) {
      try {
        scheduler.deleteJob(job);
        return;
      } catch (SchedulerException e) {
        if (!scheduler.checkExists(job)) {
          return;
        }
        if (attempt == 10) {
          throw e;
        }
      }
    }
  }

  /** How many agents are scheduled. */
  public int size() {
    return agents.size();
  }

  private void schedule(JobKey job, Instant at) throws SchedulerException {
    Trigger trigger = TriggerBuilder.newTrigger()
        .withIdentity(job.getName() + "-" + triggerSequence.incrementAndGet(), job.getGroup())
        .forJob(job)
        .startAt(Date.from(at))
        .withSchedule(SimpleScheduleBuilder.simpleSchedule().withMisfireHandlingInstructionFireNow())
        .build();
    scheduler.scheduleJob(trigger);
  }

  private JobFactory jobFactory() {
    return (bundle, scheduler) -> {
      JobKey key = bundle.getJobDetail().getKey();
      return new AgentJob(this, key);
    };
  }

  /** One run of one job: do the work, then schedule the next run from what it says. */
  void run(JobKey key) {
    Renewer renewer = agents.get(key.getGroup());
    if (renewer == null) {
      return;
    }
    Instant now = clock.instant();
    Instant next;
    try {
      if (key.getName().equals(RENEW)) {
        Renewer.Result result = renewer.renew(false);
        next = result.nextRunAt();
        LOG.debug("{}: {} ({}); next run {}", key.getGroup(), result.outcome(), result.message(), next);
      } else {
        renewer.refreshTrust();
        Duration interval = renewer.config().trust().refreshInterval();
        // 90% to 110% of the interval, so that a fleet's refreshes do not stay in step.
        next = now.plusMillis(interval.toMillis() * 9 / 10 + random.nextLong(Math.max(1, interval.toMillis() / 5)));
      }
    } catch (AgentException e) {
      // The message says what failed ("renewal failed: ...", "trust refresh failed: ...").
      LOG.error("{}: {}", key.getGroup(), e.getMessage());
      // A renewal failed on the device's own files is tried again after the backoff it recorded,
      // as a failure at the server is: the file may be put right meanwhile.
      next = key.getName().equals(RENEW) ? renewer.nextAttemptAfterFailure()
          : now.plus(renewer.config().retry().max());
    } catch (RuntimeException e) {
      LOG.error("{}: {} failed", key.getGroup(), key.getName(), e);
      next = now.plus(renewer.config().retry().initial());
    }
    if (next == null || next.isBefore(now.plus(MIN_DELAY))) {
      next = now.plus(MIN_DELAY);
    }
    try {
      if (agents.containsKey(key.getGroup())) {
        schedule(key, next);
      }
    } catch (SchedulerException e) {
      LOG.error("{}: cannot schedule the next {} run", key.getGroup(), key.getName(), e);
    }
  }

  /** Stops the scheduler, waiting for running operations to complete. */
  @Override
  public void close() throws SchedulerException {
    scheduler.shutdown(true);
  }

  /** The Quartz job: a thin call back into the scheduler. */
  @DisallowConcurrentExecution
  static final class AgentJob implements Job {
    private final AgentScheduler owner;
    private final JobKey key;

    AgentJob(AgentScheduler owner, JobKey key) {
      this.owner = owner;
      this.key = key;
    }

    @Override
    public void execute(JobExecutionContext context) {
      owner.run(key);
    }
  }
}
