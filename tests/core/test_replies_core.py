"""Reply attribution (API.md "Receiving", precise points 3 and 11) on the pure ReplyBook."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.core.replies import Reply, ReplyBook


def r(nick, cmd, args, channel="directory:a"):
    return Reply(nick, cmd, f"{args} pub sig", args, channel)


def test_normal_reply_completes_the_wait_with_the_contract_shape():
    book = ReplyBook()
    assert book.register(1, ("A",), "!pubkey", {}, 0.0) is None
    [done] = book.deliver(r("A", "pubkey", "k1"), 1.0)
    assert done.complete and book.results(1) == {
        "A": {"data": "k1 pub sig", "args": "k1", "channel": "directory:a"}}


def test_error_from_an_expected_nick_completes_that_nick():
    book = ReplyBook()
    book.register(1, ("A", "B"), "pubkey", {}, 0.0)
    assert book.deliver(Reply("A", "error", "oid not found", "oid not found", "direct"), 0.1) == []
    [done] = book.deliver(r("B", "pubkey", "k"), 0.2)
    assert book.results(1)["A"] == {"error": True, "data": "oid not found", "channel": "direct"}
    assert done.complete


def test_copies_from_several_directories_count_once():
    book = ReplyBook()
    book.register(1, ("A",), "sig", {"A": 2}, 0.0)
    book.deliver(r("A", "sig", "s1", "directory:a"), 0.1)
    assert book.deliver(r("A", "sig", "s1", "directory:b"), 0.1) == []
    assert book.duplicates == 1
    [done] = book.deliver(r("A", "sig", "s2", "directory:b"), 0.2)
    assert done.complete and book.results(1)["A"]["args"] == ["s1", "s2"]


def test_sig_wait_without_enough_signatures_reports_the_shortfall():
    book = ReplyBook()
    book.register(1, ("A",), "sig", {"A": 3}, 0.0)
    book.deliver(r("A", "sig", "s1"), 0.1)
    done = book.expire(1)
    assert not done.complete and done.missing == ("A (1/3 signatures)",)


def test_reply_before_the_wait_is_replayed_once():
    book = ReplyBook()
    book.deliver(r("A", "pubkey", "k"), 0.0)
    assert book.register(1, ("A",), "pubkey", {}, 1.0).complete
    assert book.register(2, ("A",), "pubkey", {}, 1.0) is None  # handed out once


def test_replay_buffer_expires_after_ttl():
    book = ReplyBook(replay_ttl=60)
    book.deliver(r("A", "pubkey", "k"), 0.0)
    assert book.register(1, ("A",), "pubkey", {}, 61.0) is None


def test_concurrent_waits_do_not_steal_each_others_replies():
    book = ReplyBook()
    book.register(1, ("A",), "ioauth", {}, 0.0)
    book.register(2, ("B",), "pubkey", {}, 0.0)
    assert book.deliver(r("A", "pubkey", "late"), 0.1) == []  # wanted by neither: buffered
    [d2] = book.deliver(r("B", "pubkey", "k"), 0.2)
    [d1] = book.deliver(r("A", "ioauth", "io"), 0.3)
    assert (d1.wait_id, d2.wait_id) == (1, 2)
    assert book.results(2)["B"]["args"] == "k" and book.results(1)["A"]["args"] == "io"
    assert book.buffered == 1


def test_unexpected_sender_is_never_attributed():
    book = ReplyBook()
    book.register(1, ("A",), "pubkey", {}, 0.0)
    book.deliver(Reply("X", "pubkey", "A pub sig", "A", "directory:a"), 0.1)
    assert book.expire(1).missing == ("A",) and book.results(1) == {}


def test_pending_waits_are_capped():
    book = ReplyBook(max_waits=1)
    book.register(1, ("A",), "pubkey", {}, 0.0)
    with pytest.raises(OverflowError):
        book.register(2, ("A",), "pubkey", {}, 0.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.sampled_from(["sig", "pubkey", "error"]),
                          st.sampled_from(["x", "y", "z"])), max_size=40))
def test_every_reply_is_handed_out_at_most_once_and_only_to_a_wait_expecting_its_sender(stream):
    book = ReplyBook()
    expected = {1: ("A", "B"), 2: ("A", "C")}
    book.register(1, expected[1], "sig", {"A": 2, "B": 2}, 0.0)
    book.register(2, expected[2], "pubkey", {}, 0.0)
    for t, (nick, cmd, args) in enumerate(stream):
        book.deliver(r(nick, cmd, args), float(t))
    handed = []
    for wait_id, nicks in expected.items():
        book.expire(wait_id)
        for nick, entry in book.results(wait_id).items():
            assert nick in nicks
            if entry.get("error"):
                handed.append((nick, "error", entry["data"]))
            elif isinstance(entry["args"], list):
                handed += [(nick, "sig", a) for a in entry["args"]]
            else:
                handed.append((nick, "pubkey", entry["args"]))
    assert len(handed) == len(set(handed))
    assert set(handed) <= set(stream)
