// game_tick: a fixed-rate game server loop. The main thread runs the tick (weft::tick); a world
// actor owns the game state; one actor per player stands for its connection. Each tick the world
// takes the players' inputs (a bounded channel), advances, and broadcasts a snapshot to every
// player with tell(). Player mailboxes are bounded: a player that falls behind (here one whose
// connection stalls for the whole game) makes tell() return `full`, the world skips that player
// for this tick (the next snapshot supersedes it anyway) and counts the drop. The tick never
// waits for a player. Prints the tick jitter and the world's step time as histograms.
//
//   game_tick                                  250 ticks of 10 ms, 3 players + 1 stalled one
//   game_tick --ticks 100 --period-ms 2        the short mode the test runs
//
// Checked at the end (exit code 1 otherwise): the world advanced once per tick; every normal
// player received every snapshot; the stalled player's received + dropped == ticks, with drops;
// every input a player sent was applied by the world.
#include <weft/weft.hpp>
#include <weft/histogram.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// ---- messages ------------------------------------------------------------------------------------

struct input {  // player -> world, through a channel the world drains each tick
  int player;
  int dx, dy;
};

struct snapshot {  // world -> players: immutable, shared by every player (one allocation per tick)
  std::uint64_t tick;
  std::vector<std::pair<int, int>> positions;
};
using snapshot_ptr = std::shared_ptr<const snapshot>;

struct step {  // main -> world: advance one tick
  std::uint64_t tick;
};
struct world_stats_query {};
struct world_stats {
  std::uint64_t ticks, inputs_applied;
  std::vector<std::uint64_t> dropped;  // per player: snapshots not delivered (mailbox full)
};
struct player_stats_query {};
struct player_stats {
  std::uint64_t received, inputs_sent, inputs_refused;
};

// ---- a player: its connection ------------------------------------------------------------------

class player {
 public:
  // `stall`: a stalled player blocks on this receiver in its first handler, until main closes
  // the channel. Blocking in a handler parks only this actor, never a worker thread.
  player(int id, weft::sender<input> inputs, weft::receiver<int> stall, bool stalled)
      : id_(id), inputs_(std::move(inputs)), stall_(std::move(stall)), stalled_(stalled) {}

  void operator()(snapshot_ptr s) {
    if (stalled_ && received_ == 0) (void)stall_.recv();  // returns `closed` when main releases it
    ++received_;
    // Move toward the centre, one step per snapshot: the input for the next tick.
    const auto [x, y] = s->positions[static_cast<std::size_t>(id_)];
    input in{id_, x < 0 ? 1 : x > 0 ? -1 : 0, y < 0 ? 1 : y > 0 ? -1 : 0};
    if (inputs_.try_send(std::move(in)) == weft::status::ok)
      ++inputs_sent_;
    else
      ++inputs_refused_;  // the world's input queue is full: this input is lost, the next one counts
  }
  player_stats operator()(player_stats_query) const { return {received_, inputs_sent_, inputs_refused_}; }

 private:
  int id_;
  weft::sender<input> inputs_;
  weft::receiver<int> stall_;
  bool stalled_;
  std::uint64_t received_ = 0, inputs_sent_ = 0, inputs_refused_ = 0;
};

// ---- the world: owns the game state, touched only by its handlers --------------------------------

class world {
 public:
  world(std::vector<weft::actor_ref<player>> players, weft::receiver<input> inputs)
      : players_(std::move(players)), inputs_(std::move(inputs)), dropped_(players_.size(), 0) {
    for (std::size_t i = 0; i < players_.size(); ++i)
      positions_.emplace_back(static_cast<int>(10 * (i + 1)), -static_cast<int>(5 * (i + 1)));
  }

  // One tick: apply the inputs that arrived, advance, broadcast. Returns how long it took (ns).
  std::int64_t operator()(step s) {
    const auto t0 = clock_type::now();
    drain_inputs();
    ticks_ = s.tick;
    auto snap = std::make_shared<const snapshot>(snapshot{s.tick, positions_});
    for (std::size_t i = 0; i < players_.size(); ++i) {
      // tell never blocks. On a bounded mailbox that is full it returns `full`: this player
      // misses this snapshot (a fresher one comes next tick) and the tick goes on.
      const weft::status st = players_[i].tell(snapshot_ptr(snap));
      if (st == weft::status::full) ++dropped_[i];
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count();
  }

  world_stats operator()(world_stats_query) {
    drain_inputs();  // inputs sent after the last tick count too
    return {ticks_, inputs_applied_, dropped_};
  }

 private:
  void drain_inputs() {
    while (weft::result<input> in = inputs_.try_recv()) {  // until `empty`
      auto& [x, y] = positions_[static_cast<std::size_t>(in->player)];
      x += in->dx;
      y += in->dy;
      ++inputs_applied_;
    }
  }

  std::vector<weft::actor_ref<player>> players_;
  weft::receiver<input> inputs_;
  std::vector<std::pair<int, int>> positions_;
  std::vector<std::uint64_t> dropped_;
  std::uint64_t ticks_ = 0, inputs_applied_ = 0;
};

struct options {
  std::uint64_t ticks = 250;
  std::int64_t period_ms = 10;
  int players = 3;  // normal players; one stalled player is added
};

int fail(const char* what, weft::status st = weft::status::failed) {
  std::fprintf(stderr, "FAILED: %s: %s\n", what, weft::to_string(st));
  return 1;
}

bool parse(int argc, char** argv, options& opt) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long long v = std::strtoll(argv[i + 1], nullptr, 10);
    if (v <= 0) return false;
    if (a == "--ticks")
      opt.ticks = static_cast<std::uint64_t>(v);
    else if (a == "--period-ms")
      opt.period_ms = v;
    else if (a == "--players")
      opt.players = static_cast<int>(v);
    else
      return false;
  }
  return argc % 2 == 1;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse(argc, argv, opt)) {
    std::fprintf(stderr, "usage: %s [--ticks N] [--period-ms P] [--players N]\n", argv[0]);
    return 2;
  }
  const auto period = std::chrono::milliseconds(opt.period_ms);
  // A real server sizes a normal player's mailbox to the lag it tolerates (say 32 ticks). This
  // program checks that normal players get every snapshot, so it gives them room for the whole
  // game: a loaded machine may leave a player's actor unscheduled for many 2 ms ticks.
  const std::size_t player_mailbox = std::max<std::size_t>(32, opt.ticks);
  constexpr std::size_t stalled_mailbox = 4;   // the stalled one: 4 snapshots wait, the rest drop

  // Inputs: players -> world. Bounded: a flood of inputs is refused (counted), never buffered forever.
  weft::chan<input> inputs = weft::make_chan<input>(1024);
  // The stalled player's "connection": it waits on this until main closes the sender.
  weft::chan<int> stall = weft::make_chan<int>(1);

  std::vector<weft::actor_ref<player>> players;
  const int total = opt.players + 1;
  const int stalled_id = opt.players;  // the last one
  for (int id = 0; id < total; ++id) {
    const bool stalled = id == stalled_id;
    weft::actor_options o;
    o.mailbox_capacity = stalled ? stalled_mailbox : player_mailbox;
    players.push_back(weft::spawn_actor<player>(o, id, inputs.tx, stall.rx, stalled));
  }
  weft::actor_ref<world> w = weft::spawn_actor<world>(players, inputs.rx);

  // The loop: one world step per tick. ask(step).get() waits for the step only, which never
  // waits for a player, so a stalled player cannot stretch a tick.
  weft::histogram jitter;     // |interval between ticks - period|
  weft::histogram step_time;  // the world's handler time per tick
  weft::receiver<clock_type::time_point> ticker = weft::tick(period);
  clock_type::time_point prev{};
  for (std::uint64_t k = 1; k <= opt.ticks; ++k) {
    if (!ticker.recv()) return fail("tick() returned without a value");  // it never closes
    const auto now = clock_type::now();
    if (k > 1) {
      const auto interval = now - prev;
      jitter.record(interval > period ? interval - period : period - interval);
    }
    prev = now;
    weft::result<std::int64_t> took = w.ask(step{k}).get();
    if (!took) return fail("ask(step)", took.code());
    step_time.record(*took);
  }

  // Release the stalled player (closing the channel ends its recv), then collect the counts.
  // Each ask below is queued after everything the world told that player (the world's replies
  // happened-before these asks), so the counts are final.
  stall.tx.close();
  std::vector<player_stats> ps;
  std::uint64_t inputs_sent = 0;
  for (auto& p : players) {
    // The released player may still have a full mailbox: `full` is back-pressure, so ask again
    // once it has taken a message (a 10 s deadline only catches a hang).
    weft::result<player_stats> r = p.ask(player_stats_query{}).get();
    for (const auto give_up = clock_type::now() + 10s; r.code() == weft::status::full && clock_type::now() < give_up;) {
      std::this_thread::yield();
      r = p.ask(player_stats_query{}).get();
    }
    if (!r) return fail("ask(player_stats_query)", r.code());
    ps.push_back(*r);
    inputs_sent += r->inputs_sent;
  }
  weft::result<world_stats> ws = w.ask(world_stats_query{}).get();
  if (!ws) return fail("ask(world_stats_query)", ws.code());

  // Stop every actor and wait until each has ended (monitor() delivers one exit_info).
  std::vector<weft::receiver<weft::exit_info>> exits;
  exits.push_back(w.monitor());
  for (auto& p : players) exits.push_back(p.monitor());
  w.stop();
  for (auto& p : players) p.stop();
  for (auto& e : exits) (void)e.recv();

  std::printf("game_tick: %llu ticks of %lld ms, %d players + 1 stalled (mailboxes %zu and %zu)\n",
              static_cast<unsigned long long>(opt.ticks), static_cast<long long>(opt.period_ms), opt.players,
              player_mailbox, stalled_mailbox);
  std::printf("%s\n", jitter.summary("tick jitter").c_str());
  std::printf("%s\n", step_time.summary("world step").c_str());
  for (int id = 0; id < total; ++id) {
    const auto i = static_cast<std::size_t>(id);
    std::printf("player %d%s: received %llu, dropped by the world (mailbox full) %llu, inputs sent %llu\n", id,
                id == stalled_id ? " (stalled)" : "", static_cast<unsigned long long>(ps[i].received),
                static_cast<unsigned long long>(ws->dropped[i]), static_cast<unsigned long long>(ps[i].inputs_sent));
  }
  std::printf("world: %llu ticks, %llu inputs applied\n", static_cast<unsigned long long>(ws->ticks),
              static_cast<unsigned long long>(ws->inputs_applied));

  bool ok = true;
  auto check = [&](bool cond, const std::string& what) {
    if (!cond) {
      std::fprintf(stderr, "FAILED: %s\n", what.c_str());
      ok = false;
    }
  };
  check(ws->ticks == opt.ticks, "the world advanced once per tick");
  check(jitter.count() == opt.ticks - 1 && step_time.count() == opt.ticks, "one sample per tick");
  for (int id = 0; id < opt.players; ++id) {
    const auto i = static_cast<std::size_t>(id);
    check(ps[i].received == opt.ticks && ws->dropped[i] == 0, "player " + std::to_string(id) + " got every snapshot");
  }
  const auto s = static_cast<std::size_t>(stalled_id);
  check(ps[s].received + ws->dropped[s] == opt.ticks, "stalled player: received + dropped == ticks");
  // It handles one snapshot (stuck in it) and holds stalled_mailbox more; every other one drops.
  check(ws->dropped[s] + stalled_mailbox + 1 >= opt.ticks, "stalled player: the rest was dropped, not queued");
  check(ws->inputs_applied == inputs_sent, "every input sent was applied");
  return ok ? 0 : 1;
}
