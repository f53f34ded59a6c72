"""NickTracker pinned to exact return values, counters, shares and snapshot versions.

The all-directories-gone rule is model-checked in test_nicktracker.py; this file fixes
the details a wrong rule would change without breaking that model: what each call
returns, where the per-directory share ends, that a gone nick leaves no trace (features
included), how the elected location follows withdrawals, and that each change bumps the
snapshot version by exactly one (so a reader can order snapshots).
"""

from actors.core.nicktracker import EMPTY_VIEW, NickTracker, RegistryView
from protocol.handshake import NOT_SERVING
from protocol.peerlist import PeerlistEntry

L1 = "a" * 56 + ".onion:5222"
L2 = "b" * 56 + ".onion:5222"
L3 = "c" * 56 + ".onion:5222"


def entry(nick, gone=False, loc=L1, features=frozenset()):
    return PeerlistEntry(nick, loc, gone, features)


def test_defaults():
    t = NickTracker()
    assert t.max_nicks == 100_000 and t.share == 100_000
    assert (t.refused_nicks, t.location_conflicts, t.conflicts, len(t)) == (0, 0, [], 0)


def test_the_share_is_the_floor_of_max_nicks_over_directories_and_at_least_one():
    assert NickTracker(max_nicks=3, directories=2).share == 1
    assert NickTracker(max_nicks=7, directories=3).share == 2
    assert NickTracker(max_nicks=1, directories=5).share == 1
    assert NickTracker(max_nicks=0).share == 1
    assert NickTracker(max_nicks=10, directories=0).share == 10
    assert NickTracker(max_nicks=5).max_nicks == 5


def test_a_share_of_one_holds_exactly_one_nick_per_directory():
    t = NickTracker(max_nicks=3, directories=2)
    assert t.mark_present("A", "d1") is True
    assert t.mark_present("B", "d1") is False and t.refused_nicks == 1
    assert t.mark_present("B", "d2") is True
    assert t.count("d1") == 1 and t.count("d2") == 1 and t.count("d3") == 0
    assert sorted(t.view().present) == ["A", "B"]


def test_a_share_of_two_admits_exactly_two():
    t = NickTracker(max_nicks=5, directories=2)
    assert [t.mark_present(n, "d") for n in "ABC"] == [True, True, False]
    assert t.refused_nicks == 1 and t.count("d") == 2


def test_mark_present_returns_whether_anything_changed():
    t = NickTracker()
    assert t.mark_present("A", "d1") is True
    assert t.mark_present("A", "d1") is False
    assert t.mark_present("A", "d2") is True
    assert t.refused_nicks == 0


def test_mark_absent_returns_true_only_when_gone_everywhere():
    t = NickTracker()
    t.mark_present("A", "d1")
    t.mark_present("A", "d2")
    assert t.mark_absent("A", "d3") is False
    assert t.mark_absent("A", "d1") is False and t.is_active("A")
    assert t.mark_absent("A", "d1") is False
    assert t.mark_absent("A", "d2") is True and not t.is_active("A")
    assert t.mark_absent("A", "d2") is False
    assert t.count("d1") == 0 and t.count("d2") == 0


def test_the_view_answers_is_active():
    t = NickTracker()
    t.mark_present("A", "d1")
    view = t.view()
    assert view.is_active("A") and not view.is_active("B")
    assert not RegistryView(*(EMPTY_VIEW.present for _ in range(4))).is_active("A")
    t.mark_absent("A", "d1")
    assert not t.view().is_active("A") and view.is_active("A")  # the old snapshot is frozen


def test_a_fresh_tracker_shows_the_empty_view():
    t = NickTracker()
    assert t.view() is EMPTY_VIEW and EMPTY_VIEW.version == 0


def test_each_change_bumps_the_version_by_one_and_no_change_keeps_it():
    t = NickTracker()
    t.mark_present("A", "d1")
    assert t.view().version == 1
    t.mark_present("A", "d1")
    assert t.view().version == 1
    t.apply_peerlist("d1", [entry("A", features=frozenset({"ping"}))])
    # the location is elected (+1) and the features learned (+1)
    assert t.view().version == 3
    t.apply_peerlist("d1", [entry("A", features=frozenset({"ping"}))])
    assert t.view().version == 3  # the same entry again changes nothing
    t.apply_peerlist("d1", [entry("A", features=frozenset({"ping", "x"}))])
    assert t.view().version == 4 and t.view().features["A"] == {"ping", "x"}


def test_features_already_known_from_another_nick_do_not_count_as_a_change():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("A", features=frozenset({"ping"})),
                            entry("B", features=frozenset({"ping"}))])
    version = t.view().version
    t.apply_peerlist("d2", [entry("B", loc=NOT_SERVING, features=frozenset({"ping"}))])
    assert t.view().version == version + 1  # only B's presence on d2


def test_entries_after_an_ignored_one_are_still_applied():
    t = NickTracker(ignored_locations=["DIR.onion:5222"])
    t.apply_peerlist("dir", [entry("D", loc="dir.onion:5222"), entry("M"), entry("N")])
    assert not t.is_active("D") and t.is_active("M") and t.is_active("N")


def test_a_gone_nick_leaves_no_trace_and_comes_back_fresh():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("A", features=frozenset({"ping"}))])
    assert t.apply_peerlist("d1", [entry("A", gone=True)]) == ["A"]
    view = t.view()
    assert "A" not in view.present and "A" not in view.listed
    assert "A" not in view.locations and "A" not in view.features
    t.apply_peerlist("d1", [entry("A", loc=L2)])
    assert t.view().features.get("A") is None and t.view().locations["A"] == L2


def test_forgetting_a_directory_covers_nicks_it_only_synced():
    t = NickTracker()
    t.sync("d1", {"A", "B"})
    t.sync("d2", {"B", "C"})
    assert t.forget_directory("d1") == ["A"]
    assert sorted(t.view().present) == ["B", "C"] and t.count("d1") == 0
    assert t.forget_directory("d1") == []
    assert t.forget_directory("d2") == ["B", "C"]


def test_forgetting_a_directory_reports_gone_nicks_in_sorted_order():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("Z"), entry("A"), entry("M")])
    assert t.forget_directory("d1") == ["A", "M", "Z"] and len(t) == 0


def test_a_repeated_claim_is_not_a_new_conflict():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", loc=L1)])
    t.apply_peerlist("d2", [entry("M", loc=L2)])
    assert t.location_conflicts == 1
    t.apply_peerlist("d1", [entry("M", loc=L1)])
    t.apply_peerlist("d2", [entry("M", loc=L2)])
    assert t.location_conflicts == 1 and len(t.conflicts) == 1


def test_every_new_disagreement_is_counted_and_queued():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", loc=L1)])
    t.apply_peerlist("d2", [entry("M", loc=L2)])
    t.apply_peerlist("d3", [entry("M", loc=L3)])
    assert t.location_conflicts == 2
    assert t.conflicts == [("M", {"d1": L1, "d2": L2}), ("M", {"d1": L1, "d2": L2, "d3": L3})]


def test_a_withdrawn_claim_leaves_the_others_standing():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", loc=L1)])
    t.apply_peerlist("d2", [entry("M", loc=L2)])
    t.apply_peerlist("d3", [entry("M", loc=L2)])
    assert t.view().locations["M"] == L2
    t.apply_peerlist("d1", [entry("M", gone=True)])
    assert t.view().locations["M"] == L2
    t.apply_peerlist("d2", [entry("M", gone=True)])
    assert t.view().locations["M"] == L2  # d3's claim alone still stands
    t.apply_peerlist("d2", [entry("M", loc=L1)])
    assert "M" not in t.view().locations  # one against one again


def test_a_not_serving_entry_never_overwrites_a_known_location():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", loc=L1)])
    t.apply_peerlist("d2", [entry("M", loc=NOT_SERVING)])
    t.apply_peerlist("d1", [entry("M", loc=NOT_SERVING)])
    assert t.view().locations["M"] == L1 and t.location_conflicts == 0


def test_entries_after_a_disconnected_one_are_still_applied():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("A")])
    assert t.apply_peerlist("d1", [entry("A", gone=True), entry("B"), entry("C", gone=True),
                                   entry("D")]) == ["A"]
    assert sorted(t.view().present) == ["B", "D"]


def test_entries_after_a_refused_one_are_still_applied():
    t = NickTracker(max_nicks=1)
    t.apply_peerlist("d1", [entry("A")])
    t.apply_peerlist("d1", [entry("X"), entry("A", features=frozenset({"ping"}))])
    assert t.refused_nicks == 1 and t.view().features["A"] == {"ping"}


def test_a_nick_that_left_one_directory_is_no_longer_listed_for_it():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    t.apply_peerlist("d2", [entry("M")])
    t.apply_peerlist("d1", [entry("M", gone=True)])
    assert t.view().listed["M"] == {"d2"} and t.view().present["M"] == {"d2"}
    t.sync("d2", {"M"})
    t.sync("d3", {"M"})  # present on d3 through a sync, never listed there
    assert t.view().listed["M"] == {"d2"} and t.view().present["M"] == {"d2", "d3"}
    t.sync("d2", set())
    assert "M" not in t.view().listed and t.view().present["M"] == {"d3"}
