# locks.py BIN : locked instructions per round trip (callgrind --dump-instr at 20000 vs 40000 rts)
import subprocess, sys, re, collections
b = sys.argv[1]
dis = subprocess.run(['objdump', '-d', '--no-show-raw-insn', b], capture_output=True, text=True).stdout
locked = {}
for line in dis.splitlines():
    m = re.match(r'\s*([0-9a-f]+):\s+(.*)', line)
    if m and (re.match(r'lock\b', m.group(2)) or (re.match(r"xchg\s", m.group(2)) and "%ax,%ax" not in m.group(2))):
        locked[int(m.group(1), 16)] = m.group(2)
def run(n):
    out = f'/tmp/cgl.{n}'
    subprocess.run(['valgrind', '--tool=callgrind', '--dump-instr=yes', '--compress-pos=no', '--compress-strings=no',
                    f'--callgrind-out-file={out}', b, str(n), '5'], capture_output=True)
    cnt = collections.Counter()
    obj = None
    for line in open(out):
        if line.startswith('ob='): obj = line[3:].strip()
        m = re.match(r'0x([0-9a-f]+)\s+\d+\s+(\d+)', line)
        if m and obj and obj.endswith(b.split('/')[-1]):
            try: a = int(m.group(1), 16)
            except: continue
            if a in locked: cnt[a] += int(m.group(2))
    return cnt
a, c = run(20000), run(40000)
tot = 0
for k in sorted(set(a) | set(c)):
    d = (c[k] - a[k]) / 100000
    if d > 0.01:
        tot += d
        print(hex(k), locked[k], round(d, 2))
print('total per rt', round(tot, 2))
