#!/usr/bin/env python3
"""Runs a command and reports its wall time and peak memory, sampled from /proc/PID/status.

usage: peak_memory.py [--interval 0.05] [--json FILE] [--label TEXT] -- CMD ARGS...

Every INTERVAL seconds, until the command exits, reads VmRSS, RssAnon, RssFile and VmHWM of
the direct child (not its own children) and keeps each one's peak. RssAnon is the heap and
other private memory; RssFile the mapped files' resident pages (a mmapped model shows up
here, and the kernel may drop it under pressure), VmRSS = RssAnon + RssFile + RssShmem.
VmHWM is the kernel's own high-water mark of VmRSS (exact, not sampled), from the last
sample read before the command exited; max_rss_kernel is the same from wait4's rusage (the
exact peak over the whole run, even between samples; for a tiny command it can show the
size of the python process it was forked from). A peak shorter than the interval may
be missed by the sampled columns.

The command's stdin, stdout and stderr are its own (so `peak_memory.py -- quanta eval --json
> out.json` keeps out.json clean); the report goes to stderr, one line, and with --json also
to FILE as {"wall_seconds", "peak_vmrss_mb", "peak_rssanon_mb", "peak_rssfile_mb",
"vmhwm_mb", "max_rss_kernel_mb", "samples", "exit_code", "command"}. MB = 2^20 bytes (the
kernel's kB / 1024, as bench/convert.sh reports GNU time's RSS).

The exit code is the command's (128 + N when it died of signal N). SIGINT and SIGTERM are
passed on to the command.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

FIELDS = ("VmRSS", "RssAnon", "RssFile", "VmHWM")


def read_status(pid):
    """{field: kB} of /proc/PID/status (empty once the process is gone or a zombie)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in FIELDS:
                    values[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return values


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: peak_memory.py [--interval 0.05] [--json FILE] [--label TEXT] -- CMD ARGS...")
    split = argv.index("--")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples (default 0.05)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers here as JSON")
    parser.add_argument("--label", default="", help="text to start the report line with")
    a = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command:
        sys.exit("peak_memory.py: no command after --")

    started = time.monotonic()
    try:  # Popen returns once the command is exec'd, so no sample sees this script's forked copy
        child = subprocess.Popen(command)  # kept referenced: a collected Popen would reap the child
        pid = child.pid
    except OSError as e:
        print(f"peak_memory.py: {command[0]}: {e.strerror}", file=sys.stderr)
        sys.exit(127)

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)

    peak = dict.fromkeys(FIELDS, 0)
    last_hwm = 0
    samples = 0
    while True:
        values = read_status(pid)
        if "VmRSS" in values:  # a zombie's status has no memory lines
            samples += 1
            for key, kb in values.items():
                peak[key] = max(peak[key], kb)
            last_hwm = values.get("VmHWM", last_hwm)
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            break
        time.sleep(a.interval)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code

    mb = lambda kb: round(kb / 1024, 1)
    report = {
        "wall_seconds": round(wall, 3),
        "peak_vmrss_mb": mb(peak["VmRSS"]),
        "peak_rssanon_mb": mb(peak["RssAnon"]),
        "peak_rssfile_mb": mb(peak["RssFile"]),
        "vmhwm_mb": mb(last_hwm),
        "max_rss_kernel_mb": mb(usage.ru_maxrss),  # Linux: kB
        "samples": samples,
        "exit_code": code,
        "command": command,
    }
    label = f"{a.label}: " if a.label else ""
    print(f"{label}wall {wall:.2f} s, peak VmRSS {report['peak_vmrss_mb']:.1f} MB, "
          f"peak RssAnon {report['peak_rssanon_mb']:.1f} MB, peak RssFile {report['peak_rssfile_mb']:.1f} MB, "
          f"VmHWM {report['vmhwm_mb']:.1f} MB (kernel max RSS {report['max_rss_kernel_mb']:.1f} MB, "
          f"{samples} samples), exit {code}", file=sys.stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
