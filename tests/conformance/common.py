"""What the corpus conformance scripts share, so that none of them can pass
without having compared anything:

  nightjar()  runs the sensor on one capture. Exit 0 or 1 is nightjar's own
              (1: an alert was raised); anything else -- the sanitizers'
              86/87 (tests/sanitizers.sh, applied here too when a script is
              run by hand), a signal, a usage error -- or a run without an
              EVE file is a Failure naming the capture and the stderr tail.
  tshark()    runs the reference; a nonzero exit status is a Failure (an
              error must never read as "tshark found nothing").
  Floors      each script states, at its top, how many values a run over
              the whole corpus compares at least (measured, then set a
              little below: the corpus only grows). finish() prints the
              counts and fails a run below a floor. A run over part of the
              corpus (--subset) compares fewer values by construction and
              checks no floor; its per-capture checks (a reference that
              returns nothing where nightjar sees traffic fails) still hold.
"""
import json
import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Failure(Exception):
    """A tool failed on a capture: the capture's comparison cannot be made."""


def _sanitizer_env():
    """The ASan/UBSan exit codes of tests/sanitizers.sh, also when a script
    is run by hand (corpus.inc sources it; sourcing twice is harmless)."""
    if "NJ_ASAN_EXIT" in os.environ:
        return
    out = subprocess.run(["sh", "-c", '. "$1" && env', "sh",
                          os.path.join(ROOT, "tests", "sanitizers.sh")],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        k, _, v = line.partition("=")
        if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "NJ_ASAN_EXIT", "NJ_UBSAN_EXIT"):
            os.environ[k] = v


_sanitizer_env()
ASAN_EXIT = int(os.environ["NJ_ASAN_EXIT"])
UBSAN_EXIT = int(os.environ["NJ_UBSAN_EXIT"])


def tail(text, lines=4, width=600):
    """The end of a tool's stderr; of a sanitizer's report, its ERROR and
    SUMMARY lines (the end is the shadow-byte legend)."""
    kept = [l for l in text.splitlines()
            if l.strip() and not l.startswith("Running as user")]
    report = [l for l in kept if "ERROR: " in l or l.startswith("SUMMARY: ") or
              ": runtime error: " in l]
    return " | ".join(report[:1] + report[-1:] if report else kept[-lines:])[-width:] \
        or "(no stderr)"


def status(rc):
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    if rc == ASAN_EXIT:
        return "exit %d (AddressSanitizer)" % rc
    if rc == UBSAN_EXIT:
        return "exit %d (UndefinedBehaviorSanitizer)" % rc
    return "exit %d" % rc


def nightjar(nj, path, eve, extra=()):
    """Runs nightjar on one capture; returns its EVE records."""
    r = subprocess.run([nj, "-q", "-r", path, "-o", eve] + list(extra),
                       capture_output=True, text=True, errors="replace")
    # exit 1 is nightjar's "nothing could be read": never right for a
    # capture of the corpus; the sanitizers exit 86/87 (tests/sanitizers.sh)
    if r.returncode != 0:
        raise Failure("%s: nightjar %s: %s" % (path, status(r.returncode), tail(r.stderr)))
    if not os.path.exists(eve):
        raise Failure("%s: nightjar %s wrote no EVE file: %s"
                      % (path, status(r.returncode), tail(r.stderr)))
    with open(eve) as fp:
        return [json.loads(l) for l in fp]


def tshark(path, args, text=True):
    """tshark -n -r PATH ARGS...; its stdout."""
    cmd = ["tshark", "-n", "-r", path] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=text,
                       **({"errors": "surrogateescape"} if text else {}))
    if r.returncode != 0:
        err = r.stderr if text else r.stderr.decode("utf-8", "replace")
        what = ("-Y '%s'" % args[args.index("-Y") + 1]) if "-Y" in args else " ".join(args)
        raise Failure("%s: tshark %s on %s: %s" % (path, status(r.returncode), what[:150],
                                                   tail(err)))
    return r.stdout


def options(argv, usage):
    """(--subset given, the other arguments)."""
    subset = "--subset" in argv
    args = [a for a in argv if a != "--subset"]
    if any(a.startswith("--") for a in args) or not args:
        sys.exit("usage: " + usage)
    return subset, args


def finish(script, counts, floors, subset, bad):
    """Prints the counts compared and checks them against the floors
    ({name: (floor, what it was measured as)}); returns the exit status."""
    print("%s compared: %s" % (script, ", ".join("%d %s" % (counts.get(k, 0), k) for k in floors)))
    low = 0
    for k, (floor, measured) in floors.items():
        if counts.get(k, 0) >= floor:
            continue
        if subset:
            continue
        low += 1
        print("FLOOR %s: %d %s compared, at least %d required (%s); a run that compares "
              "less did not test the corpus" % (script, counts.get(k, 0), k, floor, measured))
    if subset:
        print("%s: --subset: floors not checked (they are for the whole corpus)" % script)
    return 1 if bad or low else 0
