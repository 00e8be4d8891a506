#!/bin/sh
# workers_plan_parts.sh -- the plan's pass over a big file is walked in
# parts, a thread each (sensor/workers.c plan_split), and a part's start
# that only looked like a record is found out and walked past.
#
# Two captures of 35 MB of UDP between 200 internal hosts and the outside,
# alike but for the payloads' last bytes: in one they are random, in the
# other every payload ends in what reads as eight pcap records (a capture
# of a capture, or a file of records sent over the network, does that). A
# part is opened at the file's middle: in the first it finds the next
# record and the plan is walked in two parts; in the second it finds a
# fake record, the walk of the first part goes past it, and the plan is
# walked in one part, over every record. Damage in a part (a cut record,
# an absurd length) stops the plan's walk where a single walk would stop.
# Every way two workers give the records one worker gives.
. "$(dirname "$0")/lib/common.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

python3 - "$WORK" <<'PY'
import bisect, os, random, struct, sys

def frame(i, payload):
    host = 1 + i % 200
    src, dst = bytes([10, 2, 0, host]), bytes([198, 51, 100, 1 + i % 7])
    udp = struct.pack("!HHHH", 40000 + i % 50, 5000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                     src, dst)
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp

def write(path, fake):
    rnd = random.Random(11)
    t0 = 1700000000
    recs, starts = [], []
    size = 24
    i = 0
    def middle_in_random_bytes():  # past the record's headers, short of its last 288
        j = bisect.bisect(starts, size // 2) - 1
        return starts[j] + 16 + 42 + 16 < size // 2 < starts[j] + len(recs[j]) - 288 - 16
    # 35 MB, and the middle inside a payload's random bytes, short of any
    # fake records: the part looks for a record from there
    while size < 35 << 20 or not middle_in_random_bytes():
        ts = t0 + i // 100
        body = bytes(rnd.getrandbits(8) for _ in range(64)) * 19
        if fake:  # eight records of 20 bytes, the payload's last 288
            body = body[:-288] + b"".join(
                struct.pack("<IIII", ts, 500 + k, 20, 20) + b"\x45" * 20 for k in range(8))
        fr = frame(i, body)
        recs.append(struct.pack("<IIII", ts, i % 1000000, len(fr), len(fr)) + fr)
        starts.append(size)
        size += len(recs[-1])
        i += 1
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        f.write(b"".join(recs))

write(os.path.join(sys.argv[1], "clean.pcap"), False)
write(os.path.join(sys.argv[1], "fake.pcap"), True)

# damage: the clean records and 20 MB more of them, cut inside a record
# (the second part ends damaged); and the same with one record's length
# made absurd in the first 10 MB (the first part ends damaged, and with
# it the file: the walk before the second part never reaches it)
with open(os.path.join(sys.argv[1], "clean.pcap"), "rb") as f:
    clean = f.read()
with open(os.path.join(sys.argv[1], "cut.pcap"), "wb") as f:
    f.write(clean + clean[24:24 + 20000000])
at = 24
while at < 10 << 20:
    at += 16 + struct.unpack_from("<I", clean, at + 8)[0]
broken = bytearray(clean + clean[24:24 + 20000000])
struct.pack_into("<I", broken, at + 8, 0x7fffffff)
with open(os.path.join(sys.argv[1], "broken.pcap"), "wb") as f:
    f.write(broken)
PY

for cap in clean fake cut broken; do
    exits 0 "$cap, one worker" "$WORK/$cap.1.err" "$NJ" -r "$WORK/$cap.pcap" --workers 1 \
        --yara none -o "$WORK/$cap.1.json"
    exits 0 "$cap, two workers" "$WORK/$cap.2.err" "$NJ" -r "$WORK/$cap.pcap" --workers 2 \
        --yara none -o "$WORK/$cap.2.json"
    python3 "$root/tests/e2e/lib/same_records.py" "$WORK/$cap.1.json" "$WORK/$cap.2.json" \
        200 > "$WORK/cmp.out" 2>&1 ||
        fail "$cap: one and two workers differ: $(cat "$WORK/cmp.out")"
done
grep -q "after the plans' passes: [0-9.]* (walked in 2 parts)" "$WORK/clean.2.err" ||
    fail "clean: the plan was not walked in two parts: $(grep 'workers:' "$WORK/clean.2.err")"
grep -q "after the plans' passes: [0-9.]* (walked in 1 parts)" "$WORK/fake.2.err" ||
    fail "fake records: the false start was taken: $(grep 'workers:' "$WORK/fake.2.err")"
grep -q "200 internal hosts on a worker" "$WORK/fake.2.err" ||
    fail "fake records: not every host planned: $(grep 'placement:' "$WORK/fake.2.err")"
for cap in cut broken; do
    d1=$(grep -o "damaged capture, stopped after packet [0-9]*" "$WORK/$cap.1.err")
    d2=$(grep -o "damaged capture, stopped after packet [0-9]*" "$WORK/$cap.2.err")
    [ -n "$d1" ] && [ "$d1" = "$d2" ] ||
        fail "$cap: one worker: '$d1', two: '$d2'"
done
grep -q "(walked in 2 parts)" "$WORK/cut.2.err" ||
    fail "damage in the second part: $(grep 'workers:' "$WORK/cut.2.err")"
grep -q "(walked in 1 parts)" "$WORK/broken.2.err" ||
    fail "damage in the first part: $(grep 'workers:' "$WORK/broken.2.err")"
echo "workers_plan_parts: two parts where the middle is a record, one where it only looked like one, damage in either part stops where one walk stops; one and two workers alike"
