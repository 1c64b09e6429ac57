# SPDX-License-Identifier: MIT
# A dict of N entries (default 10**6), a JSON round trip, sorting and
# deletion; prints a checksum. Run with and without farmem: same output.
import hashlib
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10**6
d = {}
for i in range(n):
    d["key%d" % i] = (i * 7919) % 1000003
s = json.dumps(d)
d2 = json.loads(s)
assert d2 == d, "JSON round trip changed the dict"
h = hashlib.sha256(s.encode()).hexdigest()

items = sorted(d2.items(), key=lambda kv: (kv[1], kv[0]))
for k in list(d2)[::2]:
    del d2[k]
words = [k[::-1] * 3 for k in list(d2)[:100000]]
text = " ".join(words)
nested = [[j for j in range(i % 50)] for i in range(50000)]
print(n, len(s), h)
print(items[0], items[-1], len(d2), sum(d2.values()))
print(len(text), hashlib.md5(text.encode()).hexdigest(), sum(map(len, nested)))
