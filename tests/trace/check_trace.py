#!/usr/bin/env python3
"""Checks a weft flight-recorder trace (Chrome trace-event JSON).

    check_trace.py <trace.json> [--scenario] [--dropped] [--no-chan] [--recv-parks N]

Always: valid JSON; {"traceEvents": [...]}; every event has name/ph/pid/tid (and ts unless
metadata); per track (pid, tid): timestamps non-decreasing in file order and every B closed by
an E of the same name (properly nested); every flow start (ph s) has exactly one end (ph f) and
no end lacks a start; no task is woken inside its own run slice; the recorder's summary
("otherData") is present.
--scenario: the counts of tests/trace/trace_scenario.cpp's scenario (see its header).
--dropped:  the summary reports dropped events (the overflow run).
--no-chan:  no channel events, but actor slices, wake-up flows and parks (channel_events = false).
--recv-parks N: exactly N "parked: recv" slices on the task tracks.
"""
import collections
import json
import sys


def fail(msg):
    print("check_trace: FAILED: " + msg)
    sys.exit(1)


def structure(doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail('top level is not {"traceEvents": [...]}')
    evs = doc["traceEvents"]
    if not evs:
        fail("no events")
    stacks = collections.defaultdict(list)
    last_ts = {}
    flows_s, flows_f = collections.Counter(), collections.Counter()
    for i, e in enumerate(evs):
        for k in ("name", "ph", "pid", "tid"):
            if k not in e:
                fail("event %d lacks %r: %r" % (i, k, e))
        ph = e["ph"]
        if ph == "M":
            continue
        if not isinstance(e.get("ts"), (int, float)):
            fail("event %d has no numeric ts: %r" % (i, e))
        track = (e["pid"], e["tid"])
        if e["ts"] < last_ts.get(track, float("-inf")):
            fail("ts goes back on track %r at event %d: %r" % (track, i, e))
        last_ts[track] = e["ts"]
        if ph == "B":
            stacks[track].append(e["name"])
        elif ph == "E":
            if not stacks[track]:
                fail("E without B on track %r at event %d: %r" % (track, i, e))
            top = stacks[track].pop()
            if top != e["name"]:
                fail("E %r closes B %r on track %r" % (e["name"], top, track))
        elif ph == "s":
            flows_s[e["id"]] += 1
        elif ph == "f":
            flows_f[e["id"]] += 1
            if e.get("bp") != "e":
                fail("flow end without bp=e: %r" % e)
        elif ph == "i":
            if e.get("s") != "t":
                fail("instant without thread scope: %r" % e)
        else:
            fail("unexpected phase %r" % ph)
    for track, st in stacks.items():
        if st:
            fail("track %r leaves B open: %r" % (track, st))
    if flows_s != flows_f or any(n != 1 for n in flows_s.values()):
        fail("flow starts and ends do not pair up: %d starts, %d ends" % (len(flows_s), len(flows_f)))
    w = doc.get("otherData")
    if not isinstance(w, dict) or not all(k in w for k in ("records", "dropped", "threads", "tasks")):
        fail('no "otherData" summary')
    return evs, w, len(flows_s)


def no_self_wake(evs):
    """On a thread's track, a task is never woken inside its own run slice (a running task is not
    parked): a wake-up recorded after the woken task's switch-in means the ring's order is wrong
    (e.g. a held wake-up appended after a later record)."""
    open_run = {}
    for e in evs:
        if e["pid"] != 1 or e["ph"] == "M":
            continue
        track = e["tid"]
        if e["ph"] == "B" and e.get("cat") == "task":
            open_run[track] = e["name"]
        elif e["ph"] == "E" and e.get("cat") == "task":
            open_run.pop(track, None)
        elif e["ph"] == "i" and e["name"].startswith(("wake task ", "timer wakes task ")):
            woken = "task " + e["name"].split(" ")[-1]
            if open_run.get(track) == woken:
                fail("%r recorded inside %r's own run slice on track %r" % (e["name"], woken, track))


def parked_slices(evs):
    """Task-track slices "parked: <op> ..." (pid 2), counted per op."""
    parked = collections.Counter()
    for e in evs:
        if e["ph"] == "B" and e["pid"] == 2 and e["name"].startswith("parked: "):
            parked[e["name"].split(" ")[1]] += 1
    return parked


def scenario(evs, w, nflows):
    if w["dropped"] != 0:
        fail("dropped %d events in the scenario" % w["dropped"])
    chan_ops = collections.defaultdict(collections.Counter)  # chan -> (op, status) -> n
    actor_slices = 0
    spawns = 0
    parked = parked_slices(evs)
    names = set()
    for e in evs:
        ph = e["ph"]
        if ph == "M" and e["name"] == "thread_name":
            names.add(e["args"]["name"])
        if ph == "i" and e.get("cat") == "chan":
            op = e["name"].split(" ")[0]
            chan_ops[e["args"]["chan"]][(op, e["args"]["status"])] += 1
        if ph == "i" and e["name"].startswith("spawn task"):
            spawns += 1
        if ph == "B" and e.get("cat") == "actor":
            actor_slices += 1
    want_unbuffered = {("send", "ok"): 20, ("recv", "ok"): 20, ("recv", "closed"): 1}
    want_try = {("try_send", "ok"): 4, ("try_send", "full"): 6, ("try_recv", "ok"): 4, ("try_recv", "closed"): 1}
    want_select = {("send", "ok"): 2, ("select_recv", "ok"): 2, ("select_send", "ok"): 1}
    ops = [dict(c) for c in chan_ops.values()]
    if want_select not in ops:
        fail("no channel with exactly %r; channels: %r" % (want_select, ops))
    if want_unbuffered not in ops:
        fail("no channel with exactly %r; channels: %r" % (want_unbuffered, ops))
    if want_try not in ops:
        fail("no channel with exactly %r; channels: %r" % (want_try, ops))
    if actor_slices != 6:
        fail("%d actor handler slices, want 6 (5 tells + 1 ask)" % actor_slices)
    if spawns < 3:
        fail("%d spawn instants, want >= 3 (producer, consumer, actor runner)" % spawns)
    if nflows < 20:
        fail("%d wake/spawn flows, want >= 20 (unbuffered hand-offs wake the peer)" % nflows)
    if parked["recv"] + parked["send"] < 20:
        fail("parked slices on task tracks: %r, want >= 20 for send/recv" % dict(parked))
    if not any(n.startswith("weft-w0") for n in names):
        fail("no track named after the worker thread weft-w0: %r" % sorted(names))
    if not any(n.startswith("task ") and "trace_scenario.cpp:" in n for n in names):
        fail("no task track named with its spawn site: %r" % sorted(names))


def main():
    args = sys.argv[1:]
    if not args:
        fail("usage: check_trace.py <trace.json> [--scenario] [--dropped] [--no-chan]")
    try:
        with open(args[0]) as f:
            doc = json.load(f)
    except (OSError, ValueError) as ex:
        fail("cannot load %s: %s" % (args[0], ex))
    evs, w, nflows = structure(doc)
    no_self_wake(evs)
    if "--scenario" in args:
        scenario(evs, w, nflows)
    if "--no-chan" in args:
        chan = [e for e in evs if e.get("cat") == "chan"]
        if chan:
            fail("%d channel events recorded with channel_events = false" % len(chan))
        if not any(e["ph"] == "B" and e.get("cat") == "actor" for e in evs):
            fail("no actor handler slices (the scheduler/actor events must still be recorded)")
        if nflows < 20:
            fail("%d flows, want >= 20 (wake-ups are still recorded)" % nflows)
        parked = parked_slices(evs)
        if parked["recv"] + parked["send"] < 20:
            fail("parked slices on task tracks: %r, want >= 20 for send/recv (switch-outs are still recorded)"
                 % dict(parked))
    if "--recv-parks" in args:
        want = int(args[args.index("--recv-parks") + 1])
        got = parked_slices(evs)["recv"]
        if got != want:
            fail("%d 'parked: recv' slices on task tracks, want exactly %d" % (got, want))
    if "--dropped" in args and not w["dropped"] > 0:
        fail("the summary reports no dropped events")
    print("check_trace: ok: %d events, %d records, %d dropped, %d threads, %d tasks, %d flows"
          % (len(evs), w["records"], w["dropped"], w["threads"], w["tasks"], nflows))


main()
