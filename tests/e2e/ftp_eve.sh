#!/bin/sh
# ftp_eve.sh -- FTP control channels through the whole sensor (reassembly,
# detection, parser, EVE), from a capture this script writes: a session
# with pipelined commands, a command split over two segments, Telnet bytes
# before ABOR, a multi-line reply, PASV/EPSV/PORT/EPRT and an upload; an
# AUTH TLS session that turns into TLS; an IRC session (it says USER too).
# Checks every ftp event field against what was sent, that the password is
# nowhere in the output, the stats, and that tshark (when installed) reads
# the same commands where it reads one line per segment.
set -eu
. "$(dirname "$0")/lib/common.sh"
. "$root/tests/sanitizers.sh"
python3 - "$WORK/ftp.pcap" <<'PY'
import struct, sys
out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
t = [1700000000]

def conn(cport, sport, turns, cip=b"\x0a\x00\x00\x01", sip=b"\x0a\x00\x00\x02"):
    seq = {True: 1000, False: 5000}
    def pkt(fc, flags, data):
        src, dst = (cip, sip) if fc else (sip, cip)
        sp, dp = (cport, sport) if fc else (sport, cport)
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq[fc], seq[not fc], 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(data), 1, 0, 64, 6, 0, src, dst)
        f = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + ip + tcp + data
        seq[fc] += len(data) + (1 if flags & 0x03 else 0)
        t[0] += 1
        out.append(struct.pack("<IIII", t[0], 0, len(f), len(f)) + f)
    pkt(True, 0x02, b""); pkt(False, 0x12, b""); pkt(True, 0x10, b"")
    for fc, d in turns:
        pkt(fc, 0x18, d)
    pkt(True, 0x11, b""); pkt(False, 0x11, b""); pkt(True, 0x10, b"")

C, S = True, False
conn(40001, 21, [
    (S, b"220-nightjar test FTP\r\n220 ready\r\n"),
    (C, b"USER alice\r\nPASS Sw0rdf1sh-pw\r\nSYST\r\n"),
    (S, b"331 Password required\r\n230-Welcome\r\n230 Logged in\r\n215 UNIX Type: L8\r\n"),
    (C, b"PASV\r\n"), (S, b"227 Entering Passive Mode (10,0,0,2,195,80).\r\n"),
    (C, b"STOR secrets"), (C, b".zip\r\n"),
    (S, b"150 Ok to send data.\r\n"), (S, b"226 Transfer complete.\r\n"),
    (C, b"EPSV\r\n"), (S, b"229 Entering Extended Passive Mode (|||50001|)\r\n"),
    (C, b"PORT 10,0,0,1,156,64\r\n"), (S, b"200 PORT command successful.\r\n"),
    (C, b"EPRT |1|10.0.0.1|40002|\r\n"), (S, b"200 EPRT command successful.\r\n"),
    (C, b"RETR notes.txt\r\n"), (S, b"550 Failed to open file.\r\n"),
    (C, b"\xff\xf4\xff\xf2ABOR\r\n"), (S, b"225 No transfer to ABOR.\r\n"),
    (C, b"QUIT\r\n"), (S, b"221 Goodbye.\r\n"),
])
conn(40003, 21, [
    (S, b"220 FTP server ready\r\n"), (C, b"AUTH TLS\r\n"), (S, b"234 Proceed with negotiation.\r\n"),
    (C, b"\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03" + bytes(32) + b"\x00\x00\x02\x00\x2f\x01\x00\x00\x00"),
])
conn(40004, 6667, [
    (C, b"NICK bob\r\nUSER bob 0 * :Bob\r\n"), (S, b":irc.test 001 bob :Welcome\r\n"),
])
open(sys.argv[1], "wb").write(b"".join(out))
PY
rc=0
"$NJ" -q -r "$WORK/ftp.pcap" -o "$WORK/eve.json" || rc=$?
[ "$rc" -le 1 ] || fail "nightjar exited $rc"
grep -q "Sw0rdf1sh" "$WORK/eve.json" && fail "the password is in the EVE output"
python3 - "$WORK/eve.json" <<'PY' || exit 1
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ftp = [e for e in ev if e["event_type"] == "ftp"]
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
s1 = [e for e in ftp if e["src_port"] == 40001]
got = [(e["ftp"]["command"], e["ftp"].get("command_data", "")) for e in s1]
want(got == [("USER", "alice"), ("PASS", "***"), ("SYST", ""), ("PASV", ""),
             ("STOR", "secrets.zip"), ("EPSV", ""), ("PORT", "10,0,0,1,156,64"),
             ("EPRT", "|1|10.0.0.1|40002|"), ("RETR", "notes.txt"), ("ABOR", ""),
             ("QUIT", "")], "commands: %s" % got)
want([e["tx_id"] for e in s1] == list(range(len(s1))), "tx_id")
by = {e["ftp"]["command"]: e["ftp"] for e in s1}
if len(by) == 11:
    want(by["PASS"]["reply"] == ["Welcome", "Logged in"] and
         by["PASS"]["completion_code"] == ["230", "230"] and by["PASS"]["logged_in"],
         "PASS: %s" % by["PASS"])
    want(not by["USER"].get("logged_in") and by["USER"]["completion_code"] == ["331"], "USER")
    want(by["PASV"]["dynamic_port"] == 50000 and by["PASV"]["mode"] == "passive" and
         by["PASV"]["dynamic_ip"] == "10.0.0.2", "PASV: %s" % by["PASV"])
    want(by["STOR"]["completion_code"] == ["150", "226"] and
         by["STOR"]["reply"] == ["Ok to send data.", "Transfer complete."] and
         by["STOR"]["reply_received"] == "yes" and by["STOR"]["user"] == "alice",
         "STOR: %s" % by["STOR"])
    want(by["EPSV"]["dynamic_port"] == 50001 and by["EPSV"]["dynamic_ip"] == "10.0.0.2",
         "EPSV: %s" % by["EPSV"])
    want(by["PORT"]["dynamic_port"] == 40000 and by["PORT"]["mode"] == "active" and
         by["PORT"]["dynamic_ip"] == "10.0.0.1", "PORT: %s" % by["PORT"])
    want(by["EPRT"]["dynamic_port"] == 40002 and by["EPRT"]["mode"] == "active", "EPRT")
    want(by["RETR"]["completion_code"] == ["550"], "RETR")
    want(all(f["reply_received"] == "yes" and f["reply_truncated"] is False
             for f in by.values()), "replies")
s2 = [e["ftp"] for e in ftp if e["src_port"] == 40003]
want([(f["command"], f.get("command_data"), f["completion_code"]) for f in s2] ==
     [("AUTH", "TLS", ["234"])], "AUTH TLS: %s" % s2)
tls = [e for e in ev if e["event_type"] == "tls" and e["src_port"] == 40003]
want(len(tls) == 1, "the TLS after AUTH TLS: %d tls events" % len(tls))
want(not [e for e in ftp if e["src_port"] == 40004], "IRC taken for FTP")
st = [e for e in ev if e["event_type"] == "stats"][-1]["stats"]["ftp"]
want(st["transactions"] == 12 and st["logins"] == 1 and st["uploads"] == 1 and
     st["passwords_in_clear"] == 1 and st["tls_upgrades"] == 1 and st["unanswered"] == 0,
     "stats.ftp: %s" % st)
for p in problems:
    print("FAIL: " + p)
print("ftp eve: %d events, %d problems" % (len(ftp), len(problems)))
sys.exit(1 if problems else 0)
PY
if command -v tshark >/dev/null; then
    # tshark reads one line per segment: the SYST after PASS, the ".zip"
    # and the Telnet bytes before ABOR are its own
    got=$(tshark -n -r "$WORK/ftp.pcap" -Y 'ftp.request == 1 && tcp.port == 21' -T fields \
        -e ftp.request.command 2>/dev/null | tr '\n' ' ')
    case $got in
        "USER PASV STOR .zip EPSV PORT EPRT RETR "*"ABOR QUIT AUTH "*) ;;
        *) fail "tshark read: $got" ;;
    esac
fi
echo "ftp eve: ok"
