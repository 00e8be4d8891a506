"""Whether two EVE files hold the same records, order aside, after the
normalisation the corpus test makes (tests/conformance/workers_equal.py:
stats left out, flow ids by their flow's identity) -- one worker's run
against N workers'.

usage: same_records.py ONE.json MANY.json [MIN_RECORDS]
Exits 0 when equal (and ONE holds MIN_RECORDS at least), else 1, saying
how they differ.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "conformance"))
from workers_equal import normalise  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: same_records.py ONE.json MANY.json [MIN_RECORDS]")
    one, many = (normalise([json.loads(l) for l in open(p)]) for p in sys.argv[1:3])
    floor = int(sys.argv[3]) if len(sys.argv) == 4 else 1
    if sum(one.values()) < floor:
        sys.exit("only %d records" % sum(one.values()))
    if one != many:
        sys.exit("%d records only in %s, %d only in %s: %s"
                 % (sum((one - many).values()), sys.argv[1], sum((many - one).values()),
                    sys.argv[2], [r[:300] for r in list(one - many)[:2]]))


if __name__ == "__main__":
    main()
