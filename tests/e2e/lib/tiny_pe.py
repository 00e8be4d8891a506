#!/usr/bin/env python3
"""tiny_pe.py OUT -- writes a minimal, well-formed 32-bit Windows executable
(DOS stub, PE header, one .text section holding "ret"): real PE structure
for delivery tests, no certificate table (unsigned), nothing that runs."""
import struct
import sys

opt = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
                  0x10b, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x2000, 0x400000,
                  0x1000, 0x200, 6, 0, 0, 0, 6, 0, 0, 0x2000, 0x200, 0, 2, 0,
                  0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
opt += b"\0" * (16 * 8)                       # data directories: none, no certificate table
coff = struct.pack("<HHIIIHH", 0x14c, 1, 0x5f000000, 0, 0, len(opt), 0x0102)
section = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x200, 0x200,
                      0, 0, 0, 0, 0x60000020)
dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
head = dos + b"PE\0\0" + coff + opt + section
image = head + b"\0" * (0x200 - len(head)) + b"\xc3" + b"\0" * 0x1ff
open(sys.argv[1], "wb").write(image)
