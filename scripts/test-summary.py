#!/usr/bin/env python3
"""Prints 'N passed, N failed' from meson testlog.json files of the given build dirs.
A build dir without a test log (its build failed) counts as one failure."""
import json
import os
import sys

passed = failed = 0
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{d}: no test results (build failed?)")
        failed += 1
        continue
    p = f = 0
    with open(log) as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                p += 1
            elif r != "SKIP":
                f += 1
    print(f"{d}: {p} passed, {f} failed")
    passed += p
    failed += f
print(f"{passed} passed, {failed} failed")
