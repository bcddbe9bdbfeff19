/* park / unpark / close / drain: the blocking loop of the ring flavors, in Promela.
 *
 * What it models (sequentially consistent: memory orders are Relacy's job, see README.md):
 *   channels/include/weft/detail/chan_state.hpp   wait_for_ring: try -> register -> re-check ->
 *                                                 park -> unregister, repeated
 *   channels/include/weft/detail/waker_list.hpp   register_entry / unregister_entry /
 *                                                 notify_one (select_one) / disconnect_all, the
 *                                                 lock and the empty_ hint read without the lock
 *   core/include/weft/detail/waiter.hpp           the state word (one CAS from WAITING), wake()
 *                                                 = unpark then released_, wait_until /
 *                                                 wait_released
 *   core/src/parker.cpp                           the token: unpark sets it, park consumes it
 *   channels/include/weft/detail/flavor_bounded.hpp  try_send/try_recv/close abstracted to a
 *                                                 count and a closed flag (their atomicity is
 *                                                 Relacy-checked)
 * Scenario: NR receivers drain a ring of capacity CAP that one sender fills with NV values and
 * then closes. Checked: every value is received exactly once, every receiver ends (sees closed
 * after draining): no invalid end state = no lost wake-up; `ltl drained`: eventually every
 * receiver is done (pan -a -f).
 * Mutations (spin -DNAME): NO_RECHECK drops the re-check after registering; NOTIFY_NO_HINT_RACE
 * reads the empty_ hint BEFORE publishing the value (the order P2 forbids); NO_DISCONNECT makes
 * close skip waking the list. Each must be reported (invalid end state or acceptance cycle).
 */
#ifndef NR
#define NR 2
#endif
#ifndef NV
#define NV 2
#endif
#ifndef CAP
#define CAP 1
#endif

#define WAITING 0
#define ABORTED 1
#define DISCONNECTED 2
#define SELECTED 3

byte count = 0;            /* values in the ring */
bool closed = false;
byte received = 0;         /* values received in total */
byte done = 0;             /* receivers that saw closed */

/* the receivers' waker list: lock, linked entries, the empty_ hint */
bool lk = false;           /* the list's spin lock; each locked region is one atomic step below,
                              so lk is never seen held: kept to show where the lock is */
bool linked[NR];
bool nonempty = false;     /* !empty_ */
/* one waiter per receiver, re-made per round */
byte wstate[NR];
bool released[NR];
bool token[NR];            /* the parker's token */

inline update_hint() {
  d_step {
    nonempty = false;
    i = 0;
    do
    :: i < NR -> if :: linked[i] -> nonempty = true :: else skip fi; i++
    :: else -> break
    od;
    i = 0
  }
}

/* notify_one: if the hint says someone waits, select the first waiting entry under the lock,
 * then (outside the lock) wake it: unpark, then released_. */
inline notify_one() {
  sel = NR;
  if
  :: nonempty ->
     /* the locked region as one step: every other user of the list is excluded by the lock,
        and each lock-free access it races with (the owner's abort CAS, the hint) lands wholly
        before or after it, which the model explores */
     atomic {
       lk == false;
       i = 0;
       do
       :: i < NR && linked[i] ->
          if :: wstate[i] == WAITING -> wstate[i] = SELECTED; sel = i :: else skip fi;
          linked[i] = false;         /* selected, or no longer waiting: unlinked either way */
          if :: sel < NR -> break :: else i++ fi
       :: i < NR && !linked[i] -> i++
       :: else -> break
       od;
       update_hint()
     };
     if
     :: sel < NR -> token[sel] = true; released[sel] = true
     :: else skip
     fi
  :: else skip
  fi
}

proctype sender() {
  byte i, sel, k = 0;
  do
  :: k < NV ->
#ifdef NOTIFY_NO_HINT_RACE
     /* wrong order: look for waiters, then publish the value */
     bool had = nonempty;
     atomic { count < CAP -> count++ };
     if :: had -> notify_one() :: else skip fi;
#else
     atomic { count < CAP -> count++ };   /* try_send; a full ring: the sender waits (no model
                                             of the sender's own list: CAP >= NV or receivers
                                             make room) */
     notify_one();
#endif
     k++
  :: else -> break
  od;
  /* close: mark, then wake every waiting receiver with `disconnected` */
  closed = true;
#ifndef NO_DISCONNECT
  /* disconnect_all: under the lock (one step, as in notify_one), wakes under the lock too */
  atomic {
    lk == false;
    i = 0;
    do
    :: i < NR ->
       if
       :: linked[i] ->
          linked[i] = false;
          if
          :: wstate[i] == WAITING -> wstate[i] = DISCONNECTED; token[i] = true; released[i] = true
          :: else skip
          fi
       :: else skip
       fi;
       i++
    :: else -> break
    od;
    nonempty = false
  }
#endif
}

proctype receiver(byte id) {
  byte i;
  bool got;
try:
  got = false;
  atomic {
    if
    :: count > 0 -> count--; received++; got = true
    :: else skip
    fi
  };
  if
  :: got -> goto try
  :: !got && closed && count == 0 -> goto finish
  :: else skip
  fi;
  /* register a fresh waiter */
  d_step { wstate[id] = WAITING; released[id] = false };
  atomic { lk == false -> linked[id] = true; nonempty = true };   /* register_entry */
#ifndef NO_RECHECK
  /* re-check (recv_ready): abort the wait if a value or the close is there */
  if
  :: count > 0 || closed -> atomic { if :: wstate[id] == WAITING -> wstate[id] = ABORTED :: else skip fi }
  :: else skip
  fi;
#endif
  /* wait_until: park until the state leaves WAITING (spurious token returns loop) */
  do
  :: wstate[id] != WAITING -> break
  :: wstate[id] == WAITING -> atomic { token[id] -> token[id] = false }
  od;
  /* a waker that won owns the waiter until released_ (wait_released) */
  if
  :: wstate[id] != ABORTED -> released[id]
  :: else skip
  fi;
  atomic { lk == false -> linked[id] = false; update_hint() };    /* unregister_entry */
  goto try;
finish:
  done++
}

init {
  byte r = 0;
  atomic {
    run sender();
    do
    :: r < NR -> run receiver(r); r++
    :: else -> break
    od
  };
  (done == NR);
  assert(received == NV);
  assert(count == 0)
}

ltl drained { <> (done == NR) }
