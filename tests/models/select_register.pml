/* select register / unregister: one select over two channels, in Promela.
 *
 * What it models (sequentially consistent: memory orders are Relacy's job, see README.md):
 *   channels/src/select.cpp                    run_select: fast pass (try every case), then
 *                                              register one waiter in every case's waker list,
 *                                              re-check every case (abort if one is ready), wait,
 *                                              unregister from every list, complete the selected
 *                                              case or try all again
 *   channels/include/weft/detail/waker_list.hpp  select_one (notify_one), disconnect_all,
 *                                              register/unregister under the list's lock
 *   core/include/weft/detail/waiter.hpp        one CAS from WAITING picks the winner (I1); the
 *                                              winner owns the waiter until released_ (I2)
 * Scenario: case 0 receives from channel A, case 1 from channel B. One thread sends a value on A
 * (notify_one on A's list), another closes B (disconnect_all on B's list). Checked:
 *   - exactly one case fires, and the value of A is either received by it or still in A;
 *   - no waker reaches a waiter through an entry after that entry's round ended (check_entry);
 *   - at most one waker wins a round (winners);
 *   - the select always returns (no invalid end state); `ltl returns`: eventually it fired.
 * Mutations (spin -DNAME): NO_WAIT_RELEASED (the owner leaves without waiting for released_),
 * SKIP_UNREGISTER_B (a round forgets to unregister from B's list), NO_RECHECK, NO_CAS (a waker
 * claims the waiter without checking it is still WAITING). Each must be reported.
 */
#define WAITING 0
#define ABORTED 1
#define DISCONNECTED 2
#define SEL0 3
#define SEL1 4

byte countA = 0;
bool closedB = false;
byte fired = 255;          /* which case fired */

/* the waiter of the current round and its entries' links */
byte wstate = WAITING;
bool released = false;
bool token = false;
bool frame_alive = false;  /* the select's round (its waiter and entries) is alive */
byte linkedA = 0, linkedB = 0;  /* 0: unlinked; else the round whose frame holds the entry */
byte round_no = 0;         /* the select's current round */
bool hintA = false, hintB = false;   /* !empty_ of each list */
byte winners = 0;          /* wakers that won the current round */

/* A waker reached the waiter through an entry: that entry's frame must still be alive. */
inline check_entry(linked) { assert(frame_alive && linked == round_no) }

inline claim(newstate, won) {
  atomic {
#ifdef NO_CAS
    if :: wstate != ABORTED -> wstate = newstate; won = true; winners++ :: else skip fi
#else
    if :: wstate == WAITING -> wstate = newstate; won = true; winners++ :: else skip fi
#endif
  }
}

inline wake() {   /* waiter::wake(): unpark, then hand the waiter back */
  assert(frame_alive);
  token = true;
  assert(frame_alive);
  released = true
}

proctype sender_A() {
  bool won = false;
  countA++;                                  /* try_send: the value is in A */
  if
  :: hintA ->                                /* notify_one: has_waiters() */
     atomic {                                /* notify_one_slow, under A's lock */
       if :: linkedA != 0 -> check_entry(linkedA); linkedA = 0; claim(SEL0, won) :: else skip fi;
       hintA = false
     };
     if :: won -> wake() :: else skip fi
  :: else skip
  fi
}

proctype closer_B() {
  bool won = false;
  closedB = true;                            /* close: the mark bit */
  atomic {                                   /* disconnect_all, under B's lock */
    if
    :: linkedB != 0 -> check_entry(linkedB); linkedB = 0; claim(DISCONNECTED, won)
    :: else skip
    fi;
    hintB = false
  };
  if :: won -> wake() :: else skip fi        /* (production wakes under the lock; same here) */
}

proctype selector() {
  byte s;
fast:
  /* try_all: try both cases (in either order: the shuffle) */
  if
  :: countA > 0 -> countA--; fired = 0; goto fin
  :: closedB -> fired = 1; goto fin
  :: else skip
  fi;
round:
  skip;
  d_step { round_no++; wstate = WAITING; released = false; winners = 0; frame_alive = true };
  atomic { linkedA = round_no; hintA = true };   /* register in A's list */
  atomic { linkedB = round_no; hintB = true };   /* register in B's list */
#ifndef NO_RECHECK
  if
  :: countA > 0 || closedB -> atomic { if :: wstate == WAITING -> wstate = ABORTED :: else skip fi }
  :: else skip
  fi;
#endif
  do                                         /* wait_until */
  :: wstate != WAITING -> break
  :: wstate == WAITING -> atomic { token -> token = false }
  od;
#ifndef NO_WAIT_RELEASED
  if :: wstate != ABORTED -> released :: else skip fi;   /* wait_released */
#endif
  atomic { linkedA = 0; hintA = false };     /* unregister from A */
#ifndef SKIP_UNREGISTER_B
  atomic { linkedB = 0; hintB = false };     /* unregister from B */
#endif
  s = wstate;
  assert(winners <= 1);
  frame_alive = false;                       /* the round's frame is gone */
  token = false;                             /* (a stale token is absorbed by the next park) */
  /* complete_selected, else try all again */
  if
  :: s == SEL0 && countA > 0 -> countA--; fired = 0; goto fin
  :: s == SEL1 && closedB -> fired = 1; goto fin
  :: else skip
  fi;
  if
  :: countA > 0 -> countA--; fired = 0; goto fin
  :: closedB -> fired = 1; goto fin
  :: else -> goto round
  fi;
fin:
  skip
}

init {
  atomic { run selector(); run sender_A(); run closer_B() };
  (_nr_pr == 1);
  assert(fired == 0 || fired == 1);
  assert(countA == (fired == 0 -> 0 : 1))
}

ltl returns { <> (fired != 255) }
