// Peer `go`: the WORKLOADS.md workloads in Go (Debian golang-go, Go 1.19), standard library only.
// Built offline by bench/peers/CMakeLists.txt (GO111MODULE=off, GOPROXY=off, GOCACHE and GOPATH
// inside the build directory); run as
//
//	peer_go [--only W1,W3,...] [--reps N] [--scale X]
//
// and prints `go,<workload>,<metric>,<value>` lines (the median of --reps repetitions) like
// weft's runner. Goroutines run on GOMAXPROCS = the number of CPUs (2 here: the same as weft's
// 2-worker runtime), except W5, which sets GOMAXPROCS(1) for its duration.
//
//	W1   1 producer, 1 consumer goroutine, chan uint64 of cap 1024, close + range
//	W2   4 producers, 4 consumers on one cap-1024 chan; the last producer out closes it
//	W3   ping-pong over two chans of cap 1;  W4: over two unbuffered chans
//	W5   W4 with GOMAXPROCS(1)
//	W6   4 producers, each on its own cap-1024 chan; 1 consumer selects over the 4
//	W7   a server goroutine reads requests {v, reply chan} from its mailbox (chan of cap 1024)
//	     and answers v + 1 on the request's reply chan (a fresh chan of cap 1 per ask: the
//	     one-shot reply channel); the client asks sequentially
//	W8   one sender goroutine sends N values into a counting goroutine's mailbox (cap 1024: Go
//	     has no unbounded channel), then asks for the tally through a reply chan
//	W9   N goroutines, each blocked receiving from one shared chan; close() releases them all
//	W10  select { case <-ch: case <-timer.C: } with a reused time.Timer of 50 us, on an empty chan
//
// Every repetition checks what was received (count and the same order-independent checksum as
// the C++ side, per-sender order where Go promises it); a failed check prints
// `go: FAILED <workload>: <why>` on stderr and the program exits 1.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	scale float64
	reps  int
}

func scaled(o options, n, min, multiple uint64) uint64 {
	x := math.Floor(float64(n) * o.scale)
	v := uint64(0)
	if x >= 1 {
		v = uint64(x)
	}
	if v < min {
		v = min
	}
	if multiple > 1 {
		v -= v % multiple
		if v < multiple {
			v = multiple
		}
	}
	return v
}

// checksum is order-independent and identical to the C++ side's.
type checksum struct{ count, sum, xorMix uint64 }

func (c *checksum) add(v uint64) {
	c.count++
	c.sum += v
	c.xorMix ^= v * 0x9E3779B97F4A7C15
}
func (c *checksum) merge(o checksum) {
	c.count += o.count
	c.sum += o.sum
	c.xorMix ^= o.xorMix
}

func expected(first, n uint64) checksum {
	var c checksum
	for v := first; v < first+n; v++ {
		c.add(v)
	}
	return c
}

const producerShift = 48
const seqMask = (uint64(1) << producerShift) - 1

func tag(p, s uint64) uint64 { return p<<producerShift | s }

func expectedTagged(producers, per uint64) checksum {
	var c checksum
	for p := uint64(0); p < producers; p++ {
		for s := uint64(1); s <= per; s++ {
			c.add(tag(p, s))
		}
	}
	return c
}

type metric struct {
	name  string
	value float64
}

type rep struct {
	metrics []metric
	err     string
}

func (r *rep) fail(why string) {
	if r.err == "" {
		r.err = why
	} else if !strings.Contains(r.err, " (and more)") {
		r.err += " (and more)"
	}
}
func (r *rep) add(name string, v float64) { r.metrics = append(r.metrics, metric{name, v}) }

func mismatch(what string, got, want uint64) string {
	return fmt.Sprintf("%s: got %d, expected %d", what, got, want)
}

// percentile is nearest-rank, as the C++ side.
func percentile(v []int64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return float64(s[rank-1])
}

// runGoroutines starts n bodies together behind a gate and returns the nanoseconds from the
// gate's opening to the end of the last body (goroutine creation is not timed).
func runGoroutines(n int, body func(i int)) int64 {
	var arrived, done sync.WaitGroup
	gate := make(chan struct{})
	ends := make([]int64, n)
	arrived.Add(n)
	done.Add(n)
	base := time.Now()
	for i := 0; i < n; i++ {
		go func(i int) {
			defer done.Done()
			arrived.Done()
			<-gate
			body(i)
			ends[i] = int64(time.Since(base))
		}(i)
	}
	arrived.Wait()
	t0 := int64(time.Since(base))
	close(gate)
	done.Wait()
	last := ends[0]
	for _, e := range ends {
		if e > last {
			last = e
		}
	}
	return last - t0
}

// ---------------------------------------------------------------- W1, W2, W6
func runW1(o options) rep {
	var r rep
	n := scaled(o, 10_000_000, 1, 1)
	ch := make(chan uint64, 1024)
	var got checksum
	bad := uint64(0)
	ns := runGoroutines(2, func(who int) {
		if who == 0 {
			for i := uint64(1); i <= n; i++ {
				ch <- i
			}
			close(ch)
			return
		}
		var c checksum
		expect := uint64(1)
		for v := range ch {
			if v != expect {
				bad++
			}
			expect = v + 1
			c.add(v)
		}
		got = c
	})
	if got != expected(1, n) {
		r.fail(mismatch("W1 received count", got.count, n) + " (or checksum differs)")
	}
	if bad != 0 {
		r.fail(mismatch("W1 out-of-order values", bad, 0))
	}
	r.add("ns_per_msg", float64(ns)/float64(n))
	return r
}

func runW2(o options) rep {
	var r rep
	const producers, consumers = 4, 4
	n := scaled(o, 4_000_000, producers, producers)
	per := n / producers
	ch := make(chan uint64, 1024)
	got := make([]checksum, consumers)
	bad := make([]uint64, consumers)
	var left int32 = producers
	ns := runGoroutines(producers+consumers, func(who int) {
		if who < producers {
			for s := uint64(1); s <= per; s++ {
				ch <- tag(uint64(who), s)
			}
			if atomic.AddInt32(&left, -1) == 0 {
				close(ch)
			}
			return
		}
		k := who - producers
		var c checksum
		var last [producers]uint64
		for v := range ch {
			p, s := v>>producerShift, v&seqMask
			if p >= producers || s <= last[p] {
				bad[k]++
			} else {
				last[p] = s
			}
			c.add(v)
		}
		got[k] = c
	})
	var all checksum
	orderBad := uint64(0)
	for i := 0; i < consumers; i++ {
		all.merge(got[i])
		orderBad += bad[i]
	}
	if all != expectedTagged(producers, per) {
		r.fail(mismatch("W2 received count", all.count, n) + " (or checksum differs)")
	}
	if orderBad != 0 {
		r.fail(mismatch("W2 per-producer order violations", orderBad, 0))
	}
	r.add("ns_per_msg", float64(ns)/float64(n))
	return r
}

func runW6(o options) rep {
	var r rep
	const producers = 4
	n := scaled(o, 4_000_000, producers, producers)
	per := n / producers
	var ch [producers]chan uint64
	for i := range ch {
		ch[i] = make(chan uint64, 1024)
	}
	var got checksum
	bad := uint64(0)
	ns := runGoroutines(producers+1, func(who int) {
		if who < producers {
			for s := uint64(1); s <= per; s++ {
				ch[who] <- tag(uint64(who), s)
			}
			return
		}
		var c checksum
		var last [producers]uint64
		take := func(p uint64, v uint64) {
			s := v & seqMask
			if v>>producerShift != p || s <= last[p] {
				bad++
			} else {
				last[p] = s
			}
			c.add(v)
		}
		for c.count < n {
			select {
			case v := <-ch[0]:
				take(0, v)
			case v := <-ch[1]:
				take(1, v)
			case v := <-ch[2]:
				take(2, v)
			case v := <-ch[3]:
				take(3, v)
			}
		}
		got = c
	})
	if got != expectedTagged(producers, per) {
		r.fail(mismatch("W6 received count", got.count, n) + " (or checksum differs)")
	}
	if bad != 0 {
		r.fail(mismatch("W6 per-channel order violations", bad, 0))
	}
	r.add("ns_per_msg", float64(ns)/float64(n))
	return r
}

// ---------------------------------------------------------------- W3, W4, W5
func runPingPong(id string, capacity int, o options) rep {
	var r rep
	n := scaled(o, 1_000_000, 1, 1)
	samples := scaled(o, 100_000, 100, 1)
	warmup := uint64(1000)
	if n < warmup {
		warmup = n
	}
	total := warmup + n + samples
	a := make(chan uint64, capacity)
	b := make(chan uint64, capacity)
	lat := make([]int64, samples)
	var bulk int64
	var ponged checksum
	badReplies := uint64(0)
	runGoroutines(2, func(who int) {
		if who == 0 {
			v := uint64(0)
			roundTrip := func() {
				v++
				a <- v
				if <-b != v+1 {
					badReplies++
				}
			}
			for i := uint64(0); i < warmup; i++ {
				roundTrip()
			}
			t0 := time.Now()
			for i := uint64(0); i < n; i++ {
				roundTrip()
			}
			bulk = int64(time.Since(t0))
			for i := uint64(0); i < samples; i++ {
				s := time.Now()
				roundTrip()
				lat[i] = int64(time.Since(s))
			}
			close(a)
			return
		}
		var c checksum
		for v := range a {
			c.add(v)
			b <- v + 1
		}
		ponged = c
	})
	if badReplies != 0 {
		r.fail(mismatch(id+" wrong replies", badReplies, 0))
	}
	if ponged != expected(1, total) {
		r.fail(mismatch(id+" ponger received count", ponged.count, total) + " (or checksum differs)")
	}
	r.add("ns_per_round_trip", float64(bulk)/float64(n))
	r.add("p50_ns", percentile(lat, 50))
	r.add("p99_ns", percentile(lat, 99))
	r.add("p99.9_ns", percentile(lat, 99.9))
	return r
}

func runW5(o options) rep {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	return runPingPong("W5", 0, o)
}

// ---------------------------------------------------------------- W7, W8
type request struct {
	v     uint64
	tally bool
	reply chan uint64 // one-shot: a fresh chan of cap 1 per ask
	sums  chan checksum
}

// server is the "actor": a goroutine owning its state, reading its mailbox.
func server(mailbox chan request, echo bool) {
	var seen checksum
	for req := range mailbox {
		if req.tally {
			req.sums <- seen
			continue
		}
		seen.add(req.v)
		if echo {
			req.reply <- req.v + 1
		}
	}
}

func runW7(o options) rep {
	var r rep
	n := scaled(o, 1_000_000, 1, 1)
	warmup := uint64(1000)
	if n < warmup {
		warmup = n
	}
	mailbox := make(chan request, 1024)
	go server(mailbox, true)
	var ns int64
	var tally checksum
	bad := uint64(0)
	runGoroutines(1, func(int) {
		v := uint64(0)
		ask := func() {
			v++
			reply := make(chan uint64, 1)
			mailbox <- request{v: v, reply: reply}
			if <-reply != v+1 {
				bad++
			}
		}
		for i := uint64(0); i < warmup; i++ {
			ask()
		}
		t0 := time.Now()
		for i := uint64(0); i < n; i++ {
			ask()
		}
		ns = int64(time.Since(t0))
		sums := make(chan checksum, 1)
		mailbox <- request{tally: true, sums: sums}
		tally = <-sums
	})
	close(mailbox)
	if bad != 0 {
		r.fail(mismatch("W7 wrong replies", bad, 0))
	}
	if tally != expected(1, warmup+n) {
		r.fail(mismatch("W7 server handled", tally.count, warmup+n) + " (or checksum differs)")
	}
	r.add("ns_per_round_trip", float64(ns)/float64(n))
	return r
}

func runW8(o options) rep {
	var r rep
	n := scaled(o, 10_000_000, 1, 1)
	mailbox := make(chan request, 1024)
	go server(mailbox, false)
	var tally checksum
	ns := runGoroutines(1, func(int) {
		for i := uint64(1); i <= n; i++ {
			mailbox <- request{v: i}
		}
		sums := make(chan checksum, 1)
		mailbox <- request{tally: true, sums: sums}
		tally = <-sums
	})
	close(mailbox)
	if tally != expected(1, n) {
		r.fail(mismatch("W8 actor handled", tally.count, n) + " (or checksum differs)")
	}
	r.add("ns_per_msg", float64(ns)/float64(n))
	return r
}

// ---------------------------------------------------------------- W9
func statusKB(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			if len(fs) > 0 {
				v, _ := strconv.ParseUint(fs[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

func resetPeakRSS() bool {
	debug.FreeOSMemory()
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	_, werr := f.WriteString("5")
	return f.Close() == nil && werr == nil
}

func runW9(o options) rep {
	var r rep
	n := scaled(o, 1_000_000, 1, 1)
	release := make(chan uint64)
	var started, released uint64
	var wg sync.WaitGroup
	if !resetPeakRSS() {
		fmt.Fprintln(os.Stderr, "go: W9: cannot reset the peak RSS; figure is an upper bound")
	}
	base := statusKB("VmRSS") * 1024
	t0 := time.Now()
	wg.Add(int(n))
	for i := uint64(0); i < n; i++ {
		go func() {
			defer wg.Done()
			atomic.AddUint64(&started, 1)
			if _, ok := <-release; !ok {
				atomic.AddUint64(&released, 1)
			}
		}()
	}
	// Every goroutine has started when the count is in; its receive is the next statement.
	deadline := time.Now().Add(120 * time.Second)
	for atomic.LoadUint64(&started) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	ns := time.Since(t0)
	peak := statusKB("VmHWM") * 1024
	close(release)
	wg.Wait()
	if s := atomic.LoadUint64(&started); s != n {
		r.fail(mismatch("W9 goroutines started", s, n))
	}
	if rel := atomic.LoadUint64(&released); rel != n {
		r.fail(mismatch("W9 goroutines released by close", rel, n))
	}
	rss := 0.0
	if peak > base {
		rss = float64(peak-base) / float64(n)
	}
	r.add("ns_per_spawn", float64(ns)/float64(n))
	r.add("peak_rss_bytes_per_unit", rss)
	return r
}

// ---------------------------------------------------------------- W10
func runW10(o options) rep {
	var r rep
	const timeout = 50 * time.Microsecond
	n := scaled(o, 20_000, 10, 1)
	ch := make(chan uint64, 1)
	over := make([]int64, n)
	gotValue, early := uint64(0), uint64(0)
	runGoroutines(1, func(int) {
		timer := time.NewTimer(time.Hour)
		if !timer.Stop() {
			<-timer.C
		}
		for i := uint64(0); i < n; i++ {
			t0 := time.Now()
			timer.Reset(timeout)
			select {
			case <-ch:
				gotValue++
				if !timer.Stop() {
					<-timer.C
				}
			case <-timer.C:
			}
			waited := time.Since(t0)
			if waited < timeout {
				early++
			}
			over[i] = int64(waited - timeout)
		}
	})
	if gotValue != 0 {
		r.fail(mismatch("W10 receives that returned a value", gotValue, 0))
	}
	if early != 0 {
		r.fail(mismatch("W10 calls that returned before their deadline", early, 0))
	}
	r.add("median_overshoot_us", percentile(over, 50)/1000)
	r.add("p99_overshoot_us", percentile(over, 99)/1000)
	return r
}

// ---------------------------------------------------------------- main
func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func format(v float64) string {
	if v >= 1e6 || v <= -1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func main() {
	only := flag.String("only", "", "workloads to run, e.g. W1,W3 (default: all)")
	reps := flag.Int("reps", 5, "repetitions per figure (the median is printed)")
	scale := flag.Float64("scale", 1.0, "multiplies every N")
	flag.Parse()
	if *reps < 1 || !(*scale > 0) {
		fmt.Fprintln(os.Stderr, "go: --reps must be >= 1 and --scale > 0")
		os.Exit(2)
	}
	o := options{scale: *scale, reps: *reps}
	selected := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		if w != "" {
			selected[w] = true
		}
	}
	cases := []struct {
		id  string
		run func(options) rep
	}{
		{"W1", runW1}, {"W2", runW2},
		{"W3", func(o options) rep { return runPingPong("W3", 1, o) }},
		{"W4", func(o options) rep { return runPingPong("W4", 0, o) }},
		{"W5", runW5}, {"W6", runW6}, {"W7", runW7}, {"W8", runW8}, {"W9", runW9}, {"W10", runW10},
	}
	out := bufio.NewWriter(os.Stdout)
	failed := 0
	for _, c := range cases {
		if len(selected) > 0 && !selected[c.id] {
			continue
		}
		values := map[string][]float64{}
		var order []string
		errMsg := ""
		start := time.Now()
		for i := 0; i < o.reps; i++ {
			r := c.run(o)
			if r.err != "" {
				errMsg = r.err
				break
			}
			for _, m := range r.metrics {
				if _, ok := values[m.name]; !ok {
					order = append(order, m.name)
				}
				values[m.name] = append(values[m.name], m.value)
			}
			runtime.GC() // start each repetition from a collected heap
		}
		if errMsg != "" {
			failed++
			fmt.Fprintf(os.Stderr, "go: FAILED %s: %s\n", c.id, errMsg)
			continue
		}
		for _, name := range order {
			fmt.Fprintf(out, "go,%s,%s,%s\n", c.id, name, format(median(values[name])))
		}
		out.Flush()
		fmt.Fprintf(os.Stderr, "go: %s ok (%d reps, %.1f s)\n", c.id, o.reps, time.Since(start).Seconds())
	}
	if failed != 0 {
		os.Exit(1)
	}
}
