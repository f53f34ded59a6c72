"""ReplyBook rules a mutation run showed unpinned: replay eviction order and counters,
dedup expiry by age and by size, exact boundaries, and what ``missing`` lists."""

import pytest

from actors.core.replies import Completion, Reply, ReplyBook


def r(nick, cmd, args, channel="directory:a"):
    return Reply(nick, cmd, f"{args} pub sig", args, channel)


def test_documented_defaults():
    book = ReplyBook()
    assert (book.replay_ttl, book.replay_max, book.seen_max, book.max_waits) == (
        60.0, 2_000, 20_000, 1_000)
    assert (book.duplicates, book.replay_evicted, book.buffered, book.pending) == (0, 0, 0, 0)


def test_too_many_waits_error_names_the_cap():
    book = ReplyBook(max_waits=1)
    book.register(1, ("A",), "pubkey", {}, 0.0)
    with pytest.raises(OverflowError, match=r"^too many pending waits \(1\)$"):
        book.register(2, ("A",), "pubkey", {}, 0.0)


def test_every_duplicate_is_counted():
    book = ReplyBook()
    for _ in range(3):
        book.deliver(r("A", "pubkey", "k"), 0.0)
    assert book.duplicates == 2 and book.buffered == 1


def test_results_of_an_unknown_or_already_read_wait_are_empty():
    book = ReplyBook()
    assert book.results(42) == {}
    book.register(1, ("A",), "pubkey", {}, 0.0)
    book.deliver(r("A", "pubkey", "k"), 0.0)
    assert book.results(1)["A"]["args"] == "k"
    assert book.results(1) == {}


def test_sig_results_keep_data_args_and_channel():
    book = ReplyBook()
    book.register(1, ("A",), "sig", {"A": 2}, 0.0)
    book.deliver(r("A", "sig", "s1", "direct"), 0.0)
    [done] = book.deliver(r("A", "sig", "s2", "direct"), 0.0)
    assert done == Completion(1, True, ())
    assert book.results(1) == {"A": {"data": ["s1 pub sig", "s2 pub sig"],
                                      "args": ["s1", "s2"], "channel": "direct"}}


def test_a_sig_wait_without_a_count_needs_exactly_one_signature():
    book = ReplyBook()
    book.register(1, ("A",), "sig", {}, 0.0)
    assert book.deliver(r("A", "sig", "s1"), 0.0) == [Completion(1, True, ())]


def test_missing_lists_only_nicks_that_did_not_answer():
    book = ReplyBook()
    book.register(1, ("A", "B", "C"), "pubkey", {}, 0.0)
    book.deliver(r("B", "pubkey", "k"), 0.0)
    assert book.expire(1) == Completion(1, False, ("A", "C"))


def test_missing_counts_partial_signatures():
    book = ReplyBook()
    book.register(1, ("A", "B"), "sig", {"A": 3, "B": 1}, 0.0)
    book.deliver(r("A", "sig", "s1"), 0.0)
    book.deliver(r("B", "sig", "t1"), 0.0)
    assert book.expire(1) == Completion(1, False, ("A (1/3 signatures)",))


def test_buffered_replies_each_get_their_own_slot():
    book = ReplyBook()
    book.deliver(r("A", "pubkey", "k"), 0.0)
    book.deliver(r("B", "pubkey", "k"), 0.0)
    assert book.buffered == 2


def test_a_full_replay_buffer_evicts_the_oldest_and_counts_it():
    book = ReplyBook(replay_max=2)
    for nick in ("A", "B"):
        book.deliver(r(nick, "pubkey", "k"), 0.0)
    assert (book.buffered, book.replay_evicted) == (2, 0)
    book.deliver(r("C", "pubkey", "k"), 0.0)
    book.deliver(r("D", "pubkey", "k"), 0.0)
    assert (book.buffered, book.replay_evicted) == (2, 2)
    assert book.register(1, ("A", "B"), "pubkey", {}, 0.0) is None  # both evicted
    assert book.register(2, ("C", "D"), "pubkey", {}, 0.0) == Completion(2, True, ())


def test_replay_entries_expire_at_ttl_not_before_and_are_counted():
    book = ReplyBook(replay_ttl=10.0)
    book.deliver(r("A", "pubkey", "k"), 100.0)
    book.deliver(r("B", "pubkey", "k"), 105.0)
    book.deliver(r("C", "pubkey", "k"), 110.0)  # A is exactly 10 s old: kept
    assert (book.buffered, book.replay_evicted) == (3, 0)
    book.deliver(r("D", "pubkey", "k"), 115.5)  # A and B now older than 10 s
    assert (book.buffered, book.replay_evicted) == (2, 2)
    assert book.register(1, ("C",), "pubkey", {}, 115.5) == Completion(1, True, ())


def test_dedup_entries_expire_by_age():
    book = ReplyBook(replay_ttl=10.0)
    book.deliver(r("A", "pubkey", "k"), 100.0)
    book.deliver(r("A", "pubkey", "k"), 110.0)  # exactly ttl later: still a duplicate
    assert book.duplicates == 1
    book.deliver(r("A", "pubkey", "k"), 110.5)  # older than ttl: forgotten, so new again
    assert book.duplicates == 1
    assert book.register(1, ("A",), "pubkey", {}, 110.5) == Completion(1, True, ())


def test_dedup_forgets_the_oldest_key_only_beyond_seen_max():
    book = ReplyBook(seen_max=2)
    book.deliver(r("A", "pubkey", "k"), 0.0)
    book.deliver(r("B", "pubkey", "k"), 0.0)
    book.deliver(r("A", "pubkey", "k"), 0.0)  # two keys held, cap 2: A still known
    assert book.duplicates == 1
    book.deliver(r("C", "pubkey", "k"), 0.0)  # three keys: over the cap, A forgotten
    book.deliver(r("A", "pubkey", "k"), 0.0)
    assert book.duplicates == 1

