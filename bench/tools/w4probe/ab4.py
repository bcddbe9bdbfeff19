# ab4.py N BIN... : runs the w4t binaries in turn N times (1M round trips each) and prints, per
# binary, the median and the spread of the mean ns/round trip, and per pair the median difference.
import subprocess, sys, statistics
n = int(sys.argv[1]); bins = sys.argv[2:]
res = {b: [] for b in bins}
for i in range(n):
    for b in bins:
        out = subprocess.run([b, '1000000'], capture_output=True, text=True).stdout
        res[b].append(float(out.split()[1]))
for b in bins:
    v = sorted(res[b])
    print(b, 'median', round(statistics.median(v), 1), 'min', v[0], 'max', v[-1])
base = bins[0]
for b in bins[1:]:
    d = [y - x for x, y in zip(res[base], res[b])]
    print(b, '-', base, 'median diff', round(statistics.median(d), 1), 'faster in', sum(1 for x in d if x < 0), 'of', n)
