# ab.py N BIN... : alternates the binaries N times (1M round trips, 3 reps each, min of 3), prints medians
import subprocess, sys, statistics
n = int(sys.argv[1]); bins = sys.argv[2:]
res = {b: [] for b in bins}
for i in range(n):
    for b in bins:
        out = subprocess.run([b, '1000000', '3'], capture_output=True, text=True).stdout.split()
        res[b].append(min(float(x) for x in out))
for b in bins:
    print(b, 'median', round(statistics.median(res[b]), 1), 'min', min(res[b]))
base = bins[0]
for b in bins[1:]:
    d = [y - x for x, y in zip(res[base], res[b])]
    print(b, '-', base, 'median diff', round(statistics.median(d), 1), 'faster in', sum(1 for x in d if x < 0), 'of', n)
