/** Where each slot's HEPiX machine/job features directories are bound, read-only, in the container. */
export const MACHINE_FEATURES_TARGET = '/etc/machinefeatures';
export const JOB_FEATURES_TARGET = '/etc/jobfeatures';

/** What a job learns about the host (HEPiX MJF "machine features"). */
export interface MachineFeatures {
  /** Cores the host may give to jobs. */
  totalCpu: number;
  /** The host's HEP-SPEC06 rating, when the site configured it. */
  hs06?: number;
  /** Unix time the host goes away, when known. */
  shutdowntime?: number;
}

/** What a job learns about its slot (HEPiX MJF "job features"); the slot is the job MJF speaks of. */
export interface JobFeatures {
  allocatedCpu: number;
  maxRssBytes: number;
  maxSwapBytes: number;
  /** The slot's scratch limit, when it has one. */
  scratchLimitBytes?: number;
  /** Unix time the slot's container started. */
  jobstartSecs: number;
  /** Unix time the slot must be gone by (its drain deadline), or undefined when it has none. */
  deadline?: number;
}

/** File name → content of each directory, as written: one value and a newline per file. */
export interface FeatureFiles {
  machine: Readonly<Record<string, string>>;
  job: Readonly<Record<string, string>>;
}

/**
 * The MJF files of one slot, by the names and units of HSF-TN-2016-02: counts and bytes as integers, times as Unix
 * seconds, `wall_limit_secs` counted from `jobstart_secs`. A value not known is a file not written.
 */
export function featureFiles(machine: MachineFeatures, job: JobFeatures): FeatureFiles {
  const line = (value: number) => `${Math.floor(value)}\n`;
  const machineFiles: Record<string, string> = { total_cpu: line(machine.totalCpu) };
  if (machine.hs06 !== undefined) machineFiles.hs06 = `${machine.hs06}\n`;
  if (machine.shutdowntime !== undefined) machineFiles.shutdowntime = line(machine.shutdowntime);
  const jobFiles: Record<string, string> = {
    allocated_cpu: line(job.allocatedCpu),
    max_rss_bytes: line(job.maxRssBytes),
    max_swap_bytes: line(job.maxSwapBytes),
    jobstart_secs: line(job.jobstartSecs),
  };
  if (machine.hs06 !== undefined && machine.totalCpu > 0) {
    jobFiles.hs06_job = `${Math.round(((machine.hs06 * job.allocatedCpu) / machine.totalCpu) * 100) / 100}\n`;
  }
  if (job.scratchLimitBytes !== undefined) jobFiles.scratch_limit_bytes = line(job.scratchLimitBytes);
  // The slot ends at the earlier of its own deadline and the host's shutdown.
  const end = [job.deadline, machine.shutdowntime].filter((t): t is number => t !== undefined);
  if (end.length) {
    const shutdown = Math.min(...end);
    jobFiles.shutdowntime_job = line(shutdown);
    jobFiles.wall_limit_secs = line(Math.max(0, shutdown - job.jobstartSecs));
  }
  return { machine: machineFiles, job: jobFiles };
}

/** The slot's limits as the factory sets them on its container: memory with no swap above it, the pilot's disk. */
export function jobFeaturesOf(
  limits: { coresPerSlot: number; memoryMb: number; diskMb?: number | undefined },
  startedMs: number,
  deadline: number | undefined,
): JobFeatures {
  return {
    allocatedCpu: limits.coresPerSlot,
    maxRssBytes: limits.memoryMb * 1024 * 1024,
    // The container's MemorySwap equals its Memory: no swap at all.
    maxSwapBytes: 0,
    ...(limits.diskMb !== undefined ? { scratchLimitBytes: limits.diskMb * 1024 * 1024 } : {}),
    jobstartSecs: Math.floor(startedMs / 1000),
    ...(deadline !== undefined ? { deadline } : {}),
  };
}
