#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/types.h>
#include "cquantasys_affinity.h"

int quanta_limit_cpus(int count) {
    cpu_set_t allowed, chosen;
    if (count < 1 || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    CPU_ZERO(&chosen);
    int kept = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && kept < count; cpu++) {
        if (CPU_ISSET(cpu, &allowed)) { CPU_SET(cpu, &chosen); kept++; }
    }
    // sched_setaffinity(0, …) changes the calling thread only; threads already running (the
    // dispatch pool) are listed in /proc/self/task. New threads inherit their creator's mask.
    DIR *tasks = opendir("/proc/self/task");
    if (!tasks) return sched_setaffinity(0, sizeof chosen, &chosen) == 0 ? kept : -1;
    int failed = 0;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        if (sched_setaffinity((pid_t)atoi(entry->d_name), sizeof chosen, &chosen) != 0) failed = 1;
    }
    closedir(tasks);
    return failed ? -1 : kept;
}
