"""Numba fragment assembly with exactly the rules of ``ais.assembly.fragments.Assembler``.

A message in several sentences (fragments) is keyed by (station, channel, sequential
id, fragment count); fragment 1 opens it, fragment k+1 must follow fragment k, fragment
``count`` completes it. A fragment that cannot be placed, an open message displaced by
a new fragment 1 of its key, a part received more than ``timeout_s`` after its
message's first, one open longer than ``max_gap_sentences`` sentences, or evicted when
more than ``max_pending`` are open,
becomes orphan rejects (see ``ais.assembly.fragments`` for the why and the defaults).

The kernel walks the fragments of a chunk in sentence order with the open messages of
the ``Assembler`` as its starting state; the messages still open at the end go back
into ``Assembler.open`` as the reference keeps them, so both paths share state.
"""

from __future__ import annotations

import numpy as np

from ais._numba import helper, njit

OPEN_AT_END = -2
ORPHAN = -1


@helper                 # one build, not one per constant argument (ais._numba.helper)
def _orphan_chain(j, next_row, state, orphan_rank, rank):
    """Mark the fragments of one open message (a chain from row ``j``) orphans, in order;
    returns the next orphan rank."""
    while j >= 0:
        state[j] = ORPHAN
        orphan_rank[j] = rank
        rank += 1
        j = next_row[j]
    return rank


# The open messages' keys -> slots: an open-addressing table on two arrays (linear
# probing, deletion by backward shift), not a numba typed Dict: the same answers, and
# the typed Dict's methods were 1.3 s of this kernel's 3.1 s of compile work on the
# first run after an install. It holds at most ``max_pending`` keys (or the open
# messages handed in, if more), at most half full.
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)      # Fibonacci hashing


@njit(inline="always")
def _home(k, bits):
    return np.int64((np.uint64(k) * _HASH_MUL) >> np.uint64(64 - bits))


@njit(inline="always")
def _find(tab_key, tab_slot, bits, k):
    """Position of key ``k`` in the table, or -1."""
    mask = len(tab_slot) - 1
    i = _home(k, bits)
    while tab_slot[i] >= 0:
        if tab_key[i] == k:
            return i
        i = (i + 1) & mask
    return -1


@njit(inline="always")
def _insert(tab_key, tab_slot, bits, k, s):
    """Key ``k`` (not in the table) -> slot ``s``."""
    mask = len(tab_slot) - 1
    i = _home(k, bits)
    while tab_slot[i] >= 0:
        i = (i + 1) & mask
    tab_key[i] = k
    tab_slot[i] = s


@helper
def _remove(tab_key, tab_slot, bits, i):
    """Empty position ``i``, moving back the entries after it that it would hide."""
    mask = len(tab_slot) - 1
    j = i
    while True:
        j = (j + 1) & mask
        if tab_slot[j] < 0:
            break
        h = _home(tab_key[j], bits)
        # the entry at j stays when its home lies cyclically in (i, j]
        if (i <= j and i < h <= j) or (i > j and (h > i or h <= j)):
            continue
        tab_key[i] = tab_key[j]
        tab_slot[i] = tab_slot[j]
        i = j
    tab_slot[i] = -1


@njit(inline="always")
def _oldest(queue, head, alive):
    while head[0] < len(queue) and queue[head[0]] >= 0 and not alive[queue[head[0]]]:
        head[0] += 1
    if head[0] >= len(queue) or queue[head[0]] < 0:
        return -1
    return queue[head[0]]


@njit
def assemble_kernel(key, number, count, time, index, n_pre, pre_slot, pre_key, pre_first_time,
                    pre_first_index, pre_next, timeout_s, max_gap, max_pending,
                    state, orphan_rank, msg_done_index, slot_of_row):
    """Rows 0..n_pre-1 are the fragments already open (row r belongs to open message
    ``pre_slot[r]``, slots 0..len(pre_key)-1 in the Assembler's order); rows n_pre.. are
    this chunk's fragments in sentence order.

    Out: ``state[r]`` = completed message id (ids in completion order), ORPHAN or
    OPEN_AT_END; ``orphan_rank[r]`` order in which rows were orphaned;
    ``msg_done_index[m]`` sentence index that completed message m; ``slot_of_row[r]``
    the open message of a row (for OPEN_AT_END rows). Returns (n_messages, slot order
    of the messages still open: array of slot ids, -1 padded).
    """
    n = len(key)
    n_slots_max = len(pre_key) + n
    s_key = np.empty(n_slots_max, dtype=np.int64)
    s_first_time = np.empty(n_slots_max, dtype=np.float64)
    s_first_index = np.empty(n_slots_max, dtype=np.int64)
    s_next = np.empty(n_slots_max, dtype=np.int64)
    s_head = np.full(n_slots_max, -1, dtype=np.int64)    # first row of the slot
    s_tail = np.full(n_slots_max, -1, dtype=np.int64)
    alive = np.zeros(n_slots_max, dtype=np.bool_)
    next_row = np.full(n, -1, dtype=np.int64)
    queue = np.full(n_slots_max, -1, dtype=np.int64)
    head = np.zeros(1, dtype=np.int64)
    q_len = 0
    most = min(max(max_pending, len(pre_key)) + 1, n_slots_max)
    bits = 4
    while (1 << bits) < 2 * most:
        bits += 1
    tab_key = np.empty(1 << bits, dtype=np.int64)
    tab_slot = np.full(1 << bits, -1, dtype=np.int64)
    n_open = 0
    n_slots = 0
    rank = 0
    n_msg = 0

    for s in range(len(pre_key)):
        s_key[s] = pre_key[s]
        s_first_time[s] = pre_first_time[s]
        s_first_index[s] = pre_first_index[s]
        s_next[s] = pre_next[s]
        alive[s] = True
        queue[q_len] = s
        q_len += 1
        _insert(tab_key, tab_slot, bits, pre_key[s], s)
        n_open += 1
    n_slots = len(pre_key)
    for r in range(n_pre):
        s = pre_slot[r]
        if s_head[s] < 0:
            s_head[s] = r
        else:
            next_row[s_tail[s]] = r
        s_tail[s] = r
        slot_of_row[r] = s
    for r in range(n):
        state[r] = OPEN_AT_END
        orphan_rank[r] = -1

    for r in range(n_pre, n):
        t = time[r]
        idx = index[r]
        # expire the oldest open messages
        while n_open > 0:
            o = _oldest(queue, head, alive)
            if idx - s_first_index[o] <= max_gap:
                break
            alive[o] = False
            n_open -= 1
            _remove(tab_key, tab_slot, bits, _find(tab_key, tab_slot, bits, s_key[o]))
            rank = _orphan_chain(s_head[o], next_row, state, orphan_rank, rank)
        k = key[r]
        num = number[r]
        if num == 1:
            at = _find(tab_key, tab_slot, bits, k)
            if at >= 0:
                o = tab_slot[at]
                _remove(tab_key, tab_slot, bits, at)
                alive[o] = False
                n_open -= 1
                rank = _orphan_chain(s_head[o], next_row, state, orphan_rank, rank)
            if n_open >= max_pending:
                o = _oldest(queue, head, alive)
                alive[o] = False
                n_open -= 1
                _remove(tab_key, tab_slot, bits, _find(tab_key, tab_slot, bits, s_key[o]))
                rank = _orphan_chain(s_head[o], next_row, state, orphan_rank, rank)
            s = n_slots
            n_slots += 1
            s_key[s] = k
            s_first_time[s] = t
            s_first_index[s] = idx
            s_next[s] = 2
            s_head[s] = r
            s_tail[s] = r
            slot_of_row[r] = s
            alive[s] = True
            queue[q_len] = s
            q_len += 1
            _insert(tab_key, tab_slot, bits, k, s)
            n_open += 1
            continue
        at = _find(tab_key, tab_slot, bits, k)
        s = tab_slot[at] if at >= 0 else -1
        if s >= 0 and (not np.isnan(t)) and (not np.isnan(s_first_time[s])) \
                and t - s_first_time[s] > timeout_s:
            stale = True           # received too long after its message's first
        else:
            stale = False
        if s < 0 or s_next[s] != num or stale:
            if s >= 0:
                _remove(tab_key, tab_slot, bits, at)
                alive[s] = False
                n_open -= 1
                j = s_head[s]
                while j >= 0:
                    state[j] = ORPHAN
                    orphan_rank[j] = rank
                    rank += 1
                    j = next_row[j]
            state[r] = ORPHAN
            orphan_rank[r] = rank
            rank += 1
            continue
        next_row[s_tail[s]] = r
        s_tail[s] = r
        slot_of_row[r] = s
        s_next[s] += 1
        if num == count[r]:
            _remove(tab_key, tab_slot, bits, at)
            alive[s] = False
            n_open -= 1
            j = s_head[s]
            while j >= 0:
                state[j] = n_msg
                j = next_row[j]
            msg_done_index[n_msg] = idx
            n_msg += 1

    still = np.full(n_open, -1, dtype=np.int64)
    c = 0
    for q in range(head[0], q_len):
        s = queue[q]
        if alive[s]:
            still[c] = s
            c += 1
    return n_msg, still, s_first_time[:n_slots].copy(), s_first_index[:n_slots].copy(), \
        s_next[:n_slots].copy()


@njit
def gather_messages(buf, pay_s, pay_e, state, n_msg, out_buf, out_start, out_end, first_row,
                    last_row):
    """Join the payloads of each completed message's rows (row order) into ``out_buf``."""
    size = np.zeros(n_msg, dtype=np.int64)
    for r in range(len(state)):
        m = state[r]
        if m >= 0:
            size[m] += pay_e[r] - pay_s[r]
            if first_row[m] < 0:
                first_row[m] = r
            last_row[m] = r
    pos = 0
    for m in range(n_msg):
        out_start[m] = pos
        out_end[m] = pos
        pos += size[m]
    for r in range(len(state)):
        m = state[r]
        if m >= 0:
            e = out_end[m]              # a local write position: no load after each store
            for k in range(pay_s[r], pay_e[r]):
                out_buf[e] = buf[k]
                e += 1
            out_end[m] = e
