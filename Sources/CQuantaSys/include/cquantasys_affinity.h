// CPU affinity (sched_setaffinity needs _GNU_SOURCE, which Swift's Glibc module lacks).
#pragma once

/// Restricts every thread of this process (and the threads they start later) to the first `count`
/// CPUs it may run on now. Returns how many CPUs it kept, or -1 with errno set.
int quanta_limit_cpus(int count);
