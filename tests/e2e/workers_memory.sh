#!/bin/sh
# workers_memory.sh -- two workers reading a file keep its pages mapped
# only as far as they need: pcap_map lets a page go once every handle on
# the file has walked past it, and the plan's pass keeps the file's first
# 256 MiB for the workers until they walk theirs (capture/pcap_map.c,
# sensor/workers.c). main.c opens the file itself, to say why it cannot
# be read, and leaves that handle at the file's start while the workers
# read it: until a handle counted only once it walks, that one held every
# page back, and with two workers the whole file stayed in the resident
# set to the end (a 211 MB capture: 370 MB peak, 220 MB now).
#
# A 512 MiB capture of a few UDP flows (little state besides the file):
# one worker's peak resident set, and two workers' -- which may hold the
# kept 256 MiB and their two walks' steps, but not the file.
. "$(dirname "$0")/lib/common.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "${free_kb:-0}" -gt 1048576 ] || skip "less than 1 GiB free for a 512 MiB capture in $WORK"

python3 - "$WORK/big.pcap" <<'PY'
import os, struct, sys

payload = os.urandom(60000)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    size, i = 24, 0
    while size < 512 << 20:
        host = 1 + i % 4
        udp = struct.pack("!HHHH", 40000 + host, 5000, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17,
                         0, bytes([10, 3, 0, host]), bytes([198, 51, 100, 9]))
        fr = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp
        f.write(struct.pack("<IIII", 1700000000 + i // 50, i % 1000000, len(fr), len(fr)))
        f.write(fr)
        size += 16 + len(fr)
        i += 1
PY

# peak_kb WORKERS: the sensor's peak resident set, in KiB
peak_kb() {
    python3 - "$NJ" "$WORK/big.pcap" "$1" "$WORK/eve.$1.json" "$WORK/err.$1" <<'PY'
import resource, subprocess, sys
nj, cap, workers, eve, err = sys.argv[1:]
with open(err, "w") as e:
    rc = subprocess.call([nj, "-r", cap, "--workers", workers, "--yara", "none", "-o", eve],
                         stderr=e)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
set -- $(peak_kb 1)
[ "$1" = 0 ] || fail "one worker: $(exit_meaning "$1"): $(tail -3 "$WORK/err.1")"
one=$2
set -- $(peak_kb 2)
[ "$1" = 0 ] || fail "two workers: $(exit_meaning "$1"): $(tail -3 "$WORK/err.2")"
two=$2
grep -q "workers: 2" "$WORK/err.2" || fail "two workers did not read the file themselves"
# the file is 524,288 KiB: two workers may add the kept 262,144 and a few
# 8 MiB steps to one worker's figure, not the file
[ "$two" -lt $((one + 262144 + 65536)) ] ||
    fail "two workers' peak resident set is $two KiB, one worker's $one KiB: the file's pages were kept"
echo "workers_memory: 512 MiB read by two workers at a peak of $((two / 1024)) MiB (one worker: $((one / 1024)) MiB)"
