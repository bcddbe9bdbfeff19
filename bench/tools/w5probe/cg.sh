#!/bin/bash
# cg.sh BIN : instructions per round trip = (Ir(40000)-Ir(20000))/100000 (5 reps)
a=$(valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.a $1 20000 5 2>&1 | grep "Collected" | awk '{print $4}')
b=$(valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.b $1 40000 5 2>&1 | grep "Collected" | awk '{print $4}')
python3 -c "print(($b-$a)/100000)"
