"""NickTracker rules a mutation run showed unpinned: re-listing updates, NOT-SERVING-ONION
never overwriting a known onion, per-directory ``listed``, the cap, and change detection."""

from actors.core.nicktracker import EMPTY_VIEW, NickTracker
from protocol.handshake import NOT_SERVING
from protocol.peerlist import PeerlistEntry

LOC = "a" * 56 + ".onion:5222"
LOC2 = "b" * 56 + ".onion:5222"


def entry(nick, gone=False, loc=LOC, features=frozenset()):
    return PeerlistEntry(nick, loc, gone, features)


def test_default_cap_and_an_untouched_tracker_shares_the_empty_view():
    t = NickTracker()
    assert t.max_nicks == 100_000 and t.view() is EMPTY_VIEW


def test_mark_present_reports_whether_anything_changed():
    t = NickTracker(max_nicks=1)
    assert t.mark_present("M", "d1") is True
    assert t.mark_present("M", "d1") is False
    assert t.mark_present("M", "d2") is True
    assert t.mark_present("N", "d1") is False  # refused by the cap
    assert t.mark_present("O", "d1") is False
    assert t.refused_nicks == 2 and not t.is_active("N")


def test_re_listing_a_known_nick_updates_location_and_features():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", features=frozenset({"ping"}))])
    t.apply_peerlist("d1", [entry("M", loc=LOC2, features=frozenset({"neutrino"}))])
    view = t.view()
    assert view.locations["M"] == LOC2
    assert view.features["M"] == frozenset({"ping", "neutrino"})


def test_not_serving_onion_never_overwrites_a_known_onion():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    t.apply_peerlist("d2", [entry("M", loc=NOT_SERVING)])
    assert t.view().locations["M"] == LOC
    t.apply_peerlist("d1", [entry("N", loc=NOT_SERVING)])
    assert "N" not in t.view().locations and t.is_active("N")


def test_leaving_one_directory_removes_it_from_listed_only():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    t.apply_peerlist("d2", [entry("M")])
    t.apply_peerlist("d1", [entry("M", gone=True)])
    view = t.view()
    assert view.listed["M"] == frozenset({"d2"}) and view.present["M"] == frozenset({"d2"})


def test_a_nick_gone_everywhere_leaves_nothing_behind():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", features=frozenset({"ping"}))])
    t.mark_present("M", "d2")  # present on d2 without being listed there
    t.mark_absent("M", "d1")
    assert t.mark_absent("M", "d2") is True
    view = t.view()
    assert ("M" in view.present, "M" in view.listed, "M" in view.locations,
            "M" in view.features) == (False, False, False, False)


def test_entries_after_an_ignored_or_refused_one_are_still_applied():
    t = NickTracker(ignored_locations=[LOC2.upper()], max_nicks=2)
    t.apply_peerlist("d1", [entry("DIR", loc=LOC2), entry("A")])
    assert t.is_active("A") and not t.is_active("DIR")
    loc3 = "c" * 56 + ".onion:5222"
    t.apply_peerlist("d1", [entry("B"), entry("C"), entry("A", loc=loc3)])
    assert not t.is_active("C") and t.refused_nicks == 1
    assert t.view().locations["A"] == loc3


def test_re_applying_the_same_peerlist_changes_nothing():
    t = NickTracker()
    peerlist = [entry("M", features=frozenset({"ping"})), entry("N", loc=NOT_SERVING)]
    t.apply_peerlist("d1", peerlist)
    before = t.view()
    t.apply_peerlist("d1", peerlist)
    assert t.view() is before


def test_entries_after_a_disconnected_one_are_still_applied():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M"), entry("N")])
    t.apply_peerlist("d1", [entry("M", gone=True), entry("N", loc=LOC2), entry("O")])
    assert t.is_active("O") and t.view().locations["N"] == LOC2 and not t.is_active("M")


def test_a_nick_refused_by_the_cap_is_not_listed_either():
    t = NickTracker(max_nicks=1)
    t.apply_peerlist("d1", [entry("A"), entry("B")])
    view = t.view()
    assert set(view.listed) == {"A"} and set(view.present) == {"A"} and "B" not in view.locations


def test_the_view_answers_is_active():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    view = t.view()
    assert view.is_active("M") and not view.is_active("N")
    t.mark_absent("M", "d1")
    assert not t.view().is_active("M") and view.is_active("M")  # old snapshots stay as they were
