# SPDX-License-Identifier: MIT
# bigdict.py MIB - builds about MIB MiB of Python objects (a dict of
# tuples, strings, lists and ints), walks it twice, and prints checksums.
# The output is deterministic (no hash() of str: PYTHONHASHSEED may vary);
# VmHWM goes to stderr as "fmp: VmHWM <n> kB" for the driver.
import sys
import zlib


def vmhwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    # about 330 bytes of objects per entry (key, tuple, two strings, a
    # list of three ints, the dict slot)
    n = mib * 1024 * 1024 // 330
    d = {}
    for i in range(n):
        d["key-%d" % i] = (i, "value-%d-%s" % (i, "x" * (i % 50)),
                           [i, i * 3, i * 7])
    print("entries", len(d))
    crc = 0
    total = 0
    for k, (i, s, l) in d.items():
        crc = zlib.crc32(s.encode(), crc)
        total += i + l[1] + len(k)
    print("pass 1: crc %08x total %d" % (crc, total))
    # touch everything again, in another order: old objects come back
    crc = 0
    for i in range(0, n, 7):
        crc = zlib.crc32(d["key-%d" % i][1].encode(), crc)
    for i in range(1, n, 7):
        l = d["key-%d" % i][2]
        l.append(i)
        total += sum(l)
    print("pass 2: crc %08x total %d" % (crc, total))
    sys.stdout.flush()
    print("fmp: VmHWM %d kB" % vmhwm(), file=sys.stderr)


main()
