// The flight recorder's writer: turns the records copied out of the rings into Chrome
// trace-event JSON ({"traceEvents": [...]}, the format of chrome://tracing, which Perfetto
// imports; spec: "Trace Event Format", Google, 2016).
//
// Layout of the output:
//   pid 1 "weft threads"  one track per ring (OS thread, named after it): a B/E slice per task
//                         run ("task 7"), per actor message handled ("actor 2"), per idle sleep
//                         of a worker; instants for send, recv, spawn and wake-ups; flow arrows
//                         (ph s/f) from a waker's instant (or a spawn) to the woken task's next
//                         run slice.
//   pid 2 "weft tasks"    one track per task lifetime: its states as slices ("running",
//                         "parked: recv chan#3", "runnable"), from the records of every thread
//                         merged in time order.
// Every B has its E on the same track, and events are written per track in time order.
//
// Time: stamped records carry TSC ticks, converted with the session's calibration; unstamped
// ones (see <weft/detail/trace.hpp>) are placed evenly between their ring's stamped neighbours.
// Tasks are identified per lifetime: a task object is pooled and reused, so its address starts a
// new lifetime at every spawn record and ends one at every stop_done record.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <weft/detail/trace.hpp>
#include <weft/detail/trace_buffer.hpp>
#include <weft/status.hpp>

namespace weft::detail {
namespace {

constexpr int pid_threads = 1;
constexpr int pid_tasks = 2;
constexpr std::uint64_t task_tid_base = 100000;  // task tracks' tids, apart from threads'

trace_kind kind_of(const trace_raw& r) noexcept { return static_cast<trace_kind>(r.meta & 0xff); }
std::uint64_t aux_of(const trace_raw& r) noexcept { return r.meta >> 8; }

bool is_task_event(trace_kind k) noexcept {
  switch (k) {
    case trace_kind::spawn:
    case trace_kind::run:
    case trace_kind::stop_park:
    case trace_kind::stop_yield:
    case trace_kind::stop_done:
    case trace_kind::unpark:
    case trace_kind::timer_fire: return true;
    default: return false;
  }
}

bool is_stop(trace_kind k) noexcept {
  return k == trace_kind::stop_park || k == trace_kind::stop_yield || k == trace_kind::stop_done;
}

std::string escaped(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

const char* basename_of(const char* path) noexcept {
  if (path == nullptr) return "?";
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

/// Small dense ids for addresses (channels, actors), in order of first appearance.
class id_map {
 public:
  std::uint64_t operator()(std::uint64_t addr) {
    auto [it, fresh] = ids_.try_emplace(addr, ids_.size() + 1);
    (void)fresh;
    return it->second;
  }

 private:
  std::unordered_map<std::uint64_t, std::uint64_t> ids_;
};

struct task_info {
  const char* file = nullptr;
  std::uint64_t line = 0;
  std::string site() const {
    if (file == nullptr) return std::string();
    return std::string(basename_of(file)) + ":" + std::to_string(line);
  }
};

/// The JSON array's writer: one event per call.
class emitter {
 public:
  explicit emitter(std::ostream& os) : os_(os) {}

  /// {"name":..,"cat":..,"ph":..,"ts":..,"pid":..,"tid":..<extra>}
  void event(std::string_view name, const char* cat, const char* ph, double ts_ns, int pid, std::uint64_t tid,
             std::string_view extra = {}) {
    char ts[48];
    std::snprintf(ts, sizeof ts, "%.3f", ts_ns / 1000.0);
    sep();
    os_ << "{\"name\":" << escaped(name) << ",\"cat\":\"" << cat << "\",\"ph\":\"" << ph << "\",\"ts\":" << ts
        << ",\"pid\":" << pid << ",\"tid\":" << tid << extra << '}';
    ++count_;
  }
  void metadata(const char* what, int pid, std::uint64_t tid, std::string_view value) {
    sep();
    os_ << "{\"name\":\"" << what << "\",\"ph\":\"M\",\"pid\":" << pid << ",\"tid\":" << tid
        << ",\"args\":{\"name\":" << escaped(value) << "}}";
  }
  std::uint64_t count() const noexcept { return count_; }

 private:
  void sep() {
    os_ << (first_ ? "\n" : ",\n");
    first_ = false;
  }
  std::ostream& os_;
  bool first_ = true;
  std::uint64_t count_ = 0;
};

/// One record per event again, in the order the events happened (trace.hpp, "Folded records"):
/// a channel record carrying a wake-up becomes `unpark` then the operation (b: its status, as
/// the rest of this file reads it); a `handoff` becomes the next task's `run` then the parking
/// task's `stop_park`, the parking task being the ring's running one: the last switched in, or
/// before any switch-in the task that ran when the ring started (`running`; unknown when the
/// ring's oldest records were overwritten: then the run alone).
std::vector<trace_raw> unfold(const std::vector<trace_raw>& in, std::uint64_t running) {
  std::vector<trace_raw> out;
  out.reserve(in.size() + in.size() / 2);
  auto meta = [](trace_kind k, std::uint64_t aux = 0) { return static_cast<std::uint64_t>(k) | aux << 8; };
  // running: the task of the ring's open run slice (0: none known)
  for (const trace_raw& r : in) {
    const trace_kind k = kind_of(r);
    switch (k) {
      case trace_kind::send:
      case trace_kind::recv:
        if (r.b != 0) out.push_back({0, meta(trace_kind::unpark), r.b, 0});
        out.push_back({r.ts, meta(k), r.a, aux_of(r)});
        continue;
      case trace_kind::handoff:
        out.push_back({r.ts, meta(trace_kind::run), r.a, 0});
        if (running != 0) out.push_back({0, meta(trace_kind::stop_park, aux_of(r)), running, r.b});
        running = r.a;
        continue;
      case trace_kind::run: running = r.a; break;
      case trace_kind::stop_park:
      case trace_kind::stop_yield:
      case trace_kind::stop_done:
        if (r.a == running) running = 0;
        break;
      case trace_kind::idle_begin: running = 0; break;
      default: break;
    }
    out.push_back(r);
  }
  return out;
}

/// A direct task-to-task switch records the next task's `run` before the previous task's
/// switch-out (unfold): that switch-out, unstamped, happened at the run's instant.
bool shares_instant(const trace_ring_copy& r, std::size_t j) {
  return j > 0 && r.records[j].ts == 0 && is_stop(kind_of(r.records[j])) &&
         kind_of(r.records[j - 1]) == trace_kind::run && r.records[j - 1].a != r.records[j].a;
}

/// Per ring: each record's time in ns since the session start, non-decreasing.
std::vector<double> ring_times(const trace_ring_copy& r, const trace_copy& t) {
  const std::size_t n = r.records.size();
  std::vector<double> out(n, 0.0);
  auto stamped_ns = [&](std::size_t i) {
    const std::uint64_t ts = r.records[i].ts;
    if (ts <= t.tsc_start) return 0.0;
    return static_cast<double>(ts - t.tsc_start) * t.ns_per_tick;
  };
  std::size_t prev = n;  // index of the previous stamped record (n: none)
  std::size_t i = 0;
  while (i <= n) {
    if (i < n && r.records[i].ts == 0) {
      ++i;
      continue;
    }
    // Unstamped records (prev, i) lie between stamped records prev and i (either may be absent),
    // evenly: one slot each, except a switch-out that shares the instant of the switch-in just
    // before it (an unfolded hand-off, fixed up below), so that unstamped hand-offs
    // (options::stamp_every) split the time between their stamped neighbours evenly.
    const std::size_t first = prev == n ? 0 : prev + 1;
    std::size_t m = 0;
    for (std::size_t k = first; k < i; ++k) m += shares_instant(r, k) ? 0 : 1;
    if (i > first) {
      const bool has_prev = prev != n, has_next = i < n;
      const double lo = has_prev ? stamped_ns(prev) : (has_next ? stamped_ns(i) - static_cast<double>(m + 1) : 0.0);
      const double hi = has_next ? stamped_ns(i) : lo + static_cast<double>(m + 1);
      std::size_t slot = 0;
      for (std::size_t k = first; k < i; ++k) {
        slot += shares_instant(r, k) ? 0 : 1;
        out[k] = lo + (hi - lo) * static_cast<double>(slot) / static_cast<double>(m + 1);
      }
    }
    if (i < n) out[i] = stamped_ns(i);
    prev = i;
    ++i;
  }
  for (std::size_t j = 0; j < n; ++j) {
    out[j] = std::max(out[j], 0.0);
    if (j > 0) out[j] = std::max(out[j], out[j - 1]);
    if (shares_instant(r, j)) out[j] = out[j - 1];
  }
  return out;
}

std::string status_name(std::uint64_t b) { return to_string(static_cast<status>(b & 0xff)); }

struct ref {
  double ts;
  std::uint32_t ring;
  std::uint32_t idx;
};

/// The merged pass over task records: lifetimes (serials), flows, and the task tracks.
class task_pass {
 public:
  task_pass(const trace_copy& t, const std::vector<std::vector<double>>& times, emitter& out, id_map& chans)
      : t_(t), times_(times), out_(out), chans_(chans) {
    for (const auto& r : t.rings) {
      serial_.emplace_back(r.records.size(), 0);
      flow_start_.emplace_back(r.records.size(), 0);
      flow_end_.emplace_back(r.records.size(), 0);
    }
  }

  void run() {
    std::vector<ref> order;
    double end = 0;
    for (std::uint32_t ri = 0; ri < t_.rings.size(); ++ri) {
      const auto& recs = t_.rings[ri].records;
      for (std::uint32_t j = 0; j < recs.size(); ++j) {
        end = std::max(end, times_[ri][j]);
        if (is_task_event(kind_of(recs[j]))) order.push_back({times_[ri][j], ri, j});
      }
    }
    std::sort(order.begin(), order.end(), [](const ref& a, const ref& b) {
      if (a.ts != b.ts) return a.ts < b.ts;
      if (a.ring != b.ring) return a.ring < b.ring;
      return a.idx < b.idx;
    });
    for (const ref& e : order) step(e);
    for (std::size_t s = 0; s < state_.size(); ++s)
      if (state_[s].open) out_.event(state_[s].name, "task", "E", end, pid_tasks, task_tid_base + s + 1);
    for (std::size_t s = 0; s < infos_.size(); ++s) {
      std::string name = "task " + std::to_string(s + 1);
      const std::string site = infos_[s].site();
      if (!site.empty()) name += " (" + site + ")";
      out_.metadata("thread_name", pid_tasks, task_tid_base + s + 1, name);
    }
  }

  std::uint32_t serial(std::uint32_t ring, std::uint32_t idx) const { return serial_[ring][idx]; }
  std::uint64_t flow_start(std::uint32_t ring, std::uint32_t idx) const {
    const std::uint64_t id = flow_start_[ring][idx];
    return id != 0 && completed_.count(id) != 0 ? id : 0;
  }
  std::uint64_t flow_end(std::uint32_t ring, std::uint32_t idx) const { return flow_end_[ring][idx]; }
  const task_info& info(std::uint32_t s) const { return infos_[s - 1]; }
  std::size_t tasks() const noexcept { return infos_.size(); }

 private:
  static constexpr std::uint32_t no_ring = ~std::uint32_t{0};
  struct track {
    bool open = false;
    bool parked = false;
    std::uint32_t run_ring = no_ring;  // the ring of the task's open `running` state, if any
    std::string name;
  };

  std::uint32_t new_serial(const trace_raw& r) {
    task_info ti;
    if (kind_of(r) == trace_kind::spawn) {
      ti.file = reinterpret_cast<const char*>(static_cast<std::uintptr_t>(r.b));
      ti.line = aux_of(r);
    }
    infos_.push_back(ti);
    state_.emplace_back();
    return static_cast<std::uint32_t>(infos_.size());
  }

  void transition(std::uint32_t s, double ts, const char* next, bool parked) {
    track& tr = state_[s - 1];
    const std::uint64_t tid = task_tid_base + s;
    if (tr.open) out_.event(tr.name, "task", "E", ts, pid_tasks, tid);
    tr.open = next != nullptr;
    tr.parked = parked;
    tr.run_ring = no_ring;
    if (tr.open) {
      tr.name = next;
      out_.event(tr.name, "task", "B", ts, pid_tasks, tid);
    }
  }

  void step(const ref& e) {
    const trace_raw& r = t_.rings[e.ring].records[e.idx];
    const trace_kind k = kind_of(r);
    std::uint32_t s = 0;
    if (k == trace_kind::spawn) {
      s = new_serial(r);
      live_[r.a] = s;
    } else {
      auto it = live_.find(r.a);
      s = it != live_.end() ? it->second : (live_[r.a] = new_serial(r));
    }
    serial_[e.ring][e.idx] = s;
    track& tr = state_[s - 1];
    switch (k) {
      case trace_kind::spawn:
        start_flow(e, s);
        transition(s, e.ts, "runnable", false);
        break;
      case trace_kind::unpark:
      case trace_kind::timer_fire:
        start_flow(e, s);
        if (tr.parked || !tr.open) transition(s, e.ts, "runnable", false);
        break;
      case trace_kind::run: {
        auto it = pending_.find(s);
        if (it != pending_.end()) {
          flow_end_[e.ring][e.idx] = it->second;
          completed_.insert(it->second);
          pending_.erase(it);
        }
        transition(s, e.ts, "running", false);
        tr.run_ring = e.ring;
        break;
      }
      case trace_kind::stop_park:
      case trace_kind::stop_yield:
        // A switch-out happens on the ring of the task's switch-in. One from another ring ends
        // an earlier run, placed after this one only because its time is interpolated (an
        // unstamped switch-out; with options::stamp_every, a whole direct switch): stale, the
        // task runs there now.
        if (tr.run_ring != no_ring && tr.run_ring != e.ring) break;
        if (k == trace_kind::stop_yield) {
          transition(s, e.ts, "runnable (yield)", false);
        } else {
          std::string name = "parked";
          if (const auto* op = reinterpret_cast<const char*>(static_cast<std::uintptr_t>(aux_of(r)))) {
            name += std::string(": ") + op;
            if (r.b != 0) name += " #" + std::to_string(chans_(r.b));
          }
          transition(s, e.ts, name.c_str(), true);
        }
        break;
      case trace_kind::stop_done:
        transition(s, e.ts, nullptr, false);
        live_.erase(r.a);
        break;
      default: break;
    }
  }

  void start_flow(const ref& e, std::uint32_t s) {
    const std::uint64_t id = ++flows_;
    flow_start_[e.ring][e.idx] = id;
    pending_[s] = id;  // a later wake-up before the run replaces this one
  }

  const trace_copy& t_;
  const std::vector<std::vector<double>>& times_;
  emitter& out_;
  id_map& chans_;
  std::vector<std::vector<std::uint32_t>> serial_;
  std::vector<std::vector<std::uint64_t>> flow_start_, flow_end_;
  std::unordered_map<std::uint64_t, std::uint32_t> live_;  // task address -> current serial
  std::vector<task_info> infos_;
  std::vector<track> state_;
  std::unordered_map<std::uint32_t, std::uint64_t> pending_;  // serial -> flow id awaiting a run
  std::unordered_set<std::uint64_t> completed_;
  std::uint64_t flows_ = 0;
};

/// One thread's track: slices for runs, actor handlers and idle sleeps; instants; flows.
class thread_pass {
 public:
  thread_pass(emitter& out, const task_pass& tasks, id_map& chans, id_map& actors, std::uint64_t tid)
      : out_(out), tasks_(tasks), chans_(chans), actors_(actors), tid_(tid) {}

  void run(const trace_ring_copy& r, std::uint32_t ring, const std::vector<double>& times) {
    double last = 0;
    for (std::uint32_t j = 0; j < r.records.size(); ++j) {
      last = times[j];
      step(r.records[j], ring, j, times[j]);
    }
    close_all(last, {});
  }

 private:
  enum class slice : std::uint8_t { run, actor, idle };

  void begin(slice s, const std::string& name, double ts, std::string_view extra = {}) {
    out_.event(name, s == slice::run ? "task" : (s == slice::actor ? "actor" : "sched"), "B", ts, pid_threads, tid_,
               extra);
    open_.push_back({s, name});
  }
  void end_top(double ts, std::string_view extra = {}) {
    const auto& top = open_.back();
    out_.event(top.second, top.first == slice::run ? "task" : (top.first == slice::actor ? "actor" : "sched"), "E",
               ts, pid_threads, tid_, extra);
    open_.pop_back();
  }
  void close_all(double ts, std::string_view run_args) {
    while (!open_.empty()) end_top(ts, open_.size() == 1 ? run_args : std::string_view{});
  }
  void instant(const std::string& name, const char* cat, double ts, const std::string& args) {
    out_.event(name, cat, "i", ts, pid_threads, tid_, ",\"s\":\"t\",\"args\":{" + args + "}");
  }
  void flow(const char* ph, std::uint64_t id, double ts) {
    if (id == 0) return;
    std::string extra = ",\"id\":" + std::to_string(id);
    if (ph[0] == 'f') extra += ",\"bp\":\"e\"";
    out_.event("wake", "flow", ph, ts, pid_threads, tid_, extra);
  }

  void step(const trace_raw& r, std::uint32_t ring, std::uint32_t j, double ts) {
    const trace_kind k = kind_of(r);
    const std::uint32_t s = tasks_.serial(ring, j);
    switch (k) {
      case trace_kind::run: {
        close_all(ts, {});
        std::string args = ",\"args\":{\"task\":" + std::to_string(s);
        const std::string site = tasks_.info(s).site();
        if (!site.empty()) args += ",\"spawned_at\":" + escaped(site);
        args += "}";
        begin(slice::run, "task " + std::to_string(s), ts, args);
        running_ = r.a;
        flow("f", tasks_.flow_end(ring, j), ts);
        break;
      }
      case trace_kind::stop_park:
      case trace_kind::stop_yield:
      case trace_kind::stop_done: {
        if (r.a != running_) break;  // a direct switch: the next task's run already closed it
        running_ = 0;
        std::string why = k == trace_kind::stop_park ? "park" : (k == trace_kind::stop_yield ? "yield" : "done");
        if (k == trace_kind::stop_park) {
          if (const auto* op = reinterpret_cast<const char*>(static_cast<std::uintptr_t>(aux_of(r)))) {
            why += std::string(": ") + op;
            if (r.b != 0) why += " #" + std::to_string(chans_(r.b));
          }
        }
        close_all(ts, ",\"args\":{\"switch_out\":" + escaped(why) + "}");
        break;
      }
      case trace_kind::actor_begin:
        begin(slice::actor, "actor " + std::to_string(actors_(r.a)), ts);
        break;
      case trace_kind::actor_end:
        if (!open_.empty() && open_.back().first == slice::actor) end_top(ts);
        break;
      case trace_kind::idle_begin:
        running_ = 0;
        close_all(ts, {});
        begin(slice::idle, "idle", ts);
        break;
      case trace_kind::idle_end:
        if (!open_.empty() && open_.back().first == slice::idle) end_top(ts);
        break;
      case trace_kind::send:
      case trace_kind::recv: {
        const bool is_try = (r.b & trace_try_bit) != 0;
        std::string name = k == trace_kind::send ? (is_try ? "try_send" : "send") : (is_try ? "try_recv" : "recv");
        if ((r.b & trace_select_bit) != 0) name = "select_" + name;
        const std::uint64_t c = chans_(r.a);
        instant(name + " chan#" + std::to_string(c), "chan", ts,
                "\"chan\":" + std::to_string(c) + ",\"status\":" + escaped(status_name(r.b)));
        break;
      }
      case trace_kind::spawn:
        instant("spawn task " + std::to_string(s), "task", ts, "\"task\":" + std::to_string(s));
        flow("s", tasks_.flow_start(ring, j), ts);
        break;
      case trace_kind::unpark:
      case trace_kind::timer_fire:
        instant((k == trace_kind::unpark ? "wake task " : "timer wakes task ") + std::to_string(s), "task", ts,
                "\"task\":" + std::to_string(s));
        flow("s", tasks_.flow_start(ring, j), ts);
        break;
      case trace_kind::handoff: break;  // unfolded into run + stop_park before (unfold)
    }
  }

  emitter& out_;
  const task_pass& tasks_;
  id_map& chans_;
  id_map& actors_;
  const std::uint64_t tid_;
  std::vector<std::pair<slice, std::string>> open_;
  std::uint64_t running_ = 0;  // the task of the open run slice (0: none)
};

}  // namespace

trace_written write_trace_json(const trace_copy& packed, std::ostream& os) {
  trace_copy t;
  t.tsc_start = packed.tsc_start;
  t.tsc_end = packed.tsc_end;
  t.ns_per_tick = packed.ns_per_tick;
  t.dropped = packed.dropped;
  t.rings = packed.rings;
  for (auto& r : t.rings) r.records = unfold(r.records, r.running);
  std::vector<std::vector<double>> times;
  times.reserve(t.rings.size());
  std::uint64_t records = 0;
  for (const auto& r : t.rings) {
    times.push_back(ring_times(r, t));
    records += r.records.size();
  }
  os << "{\"traceEvents\":[";
  emitter out(os);
  out.metadata("process_name", pid_threads, 0, "weft threads");
  out.metadata("process_name", pid_tasks, 0, "weft tasks");
  id_map chans, actors;
  task_pass tasks(t, times, out, chans);
  tasks.run();
  for (std::uint32_t ri = 0; ri < t.rings.size(); ++ri) {
    const std::uint64_t tid = ri + 1;
    out.metadata("thread_name", pid_threads, tid,
                 t.rings[ri].name + " (os tid " + std::to_string(t.rings[ri].os_tid) + ")");
    thread_pass(out, tasks, chans, actors, tid).run(t.rings[ri], ri, times[ri]);
  }
  // otherData: the format's place for extra top-level data (viewers show or ignore it).
  os << "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":\"weft flight recorder\",\"records\":" << records << ",\"dropped\":" << t.dropped
     << ",\"threads\":" << t.rings.size() << ",\"tasks\":" << tasks.tasks() << ",\"ns_per_tick\":" << t.ns_per_tick
     << "}}\n";
  return {records, tasks.tasks()};
}

}  // namespace weft::detail
