"""The all-directories-gone rule (API.md "Nick tracking"), checked directly and by simulation."""

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.core.nicktracker import NickTracker
from protocol.peerlist import PeerlistEntry

LOC = "a" * 56 + ".onion:5222"


def entry(nick, gone=False, loc=LOC, features=frozenset()):
    return PeerlistEntry(nick, loc, gone, features)


def test_maker_gone_from_one_directory_is_still_active():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    t.apply_peerlist("d2", [entry("M")])
    assert t.apply_peerlist("d1", [entry("M", gone=True)]) == []
    assert t.is_active("M")


def test_maker_gone_from_every_directory_is_reported_once_and_forgotten():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    t.mark_present("M", "d2")
    t.apply_peerlist("d1", [entry("M", gone=True)])
    assert t.apply_peerlist("d2", [entry("M", gone=True)]) == ["M"]
    assert not t.is_active("M") and len(t) == 0
    assert t.apply_peerlist("d2", [entry("M", gone=True)]) == []


def test_nick_returning_to_a_directory_is_present_again():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M")])
    t.apply_peerlist("d2", [entry("M")])
    t.apply_peerlist("d1", [entry("M", gone=True)])
    t.apply_peerlist("d1", [entry("M")])
    t.apply_peerlist("d2", [entry("M", gone=True)])
    assert t.is_active("M")


def test_sync_marks_missing_nicks_absent_on_that_directory_only():
    t = NickTracker()
    t.sync("d1", {"A", "B"})
    t.sync("d2", {"B"})
    assert t.sync("d1", {"A"}) == []  # B is still on d2
    assert t.sync("d2", set()) == ["B"]
    assert t.is_active("A")


def test_features_are_cumulative_and_location_recorded():
    t = NickTracker()
    t.apply_peerlist("d1", [entry("M", features=frozenset({"ping"}))])
    t.apply_peerlist("d2", [entry("M", features=frozenset({"neutrino_compat"}))])
    t.apply_peerlist("d2", [entry("M")])
    view = t.view()
    assert view.features["M"] == {"ping", "neutrino_compat"}
    assert view.locations["M"] == LOC
    assert view.listed["M"] == {"d1", "d2"}


def test_directory_own_entry_is_ignored():
    t = NickTracker(ignored_locations=["dir.onion:5222"])
    t.apply_peerlist("dir.onion:5222", [entry("D", loc="dir.onion:5222"), entry("M")])
    assert not t.is_active("D") and t.is_active("M")


def test_cap_on_tracked_nicks_refuses_and_counts():
    t = NickTracker(max_nicks=2)
    t.apply_peerlist("d1", [entry("A"), entry("B"), entry("C")])
    assert len(t) == 2 and t.refused_nicks == 1 and not t.is_active("C")


def test_view_is_rebuilt_only_after_a_change():
    t = NickTracker()
    t.mark_present("M", "d1")
    first = t.view()
    t.mark_present("M", "d1")
    assert t.view() is first
    t.mark_present("M", "d2")
    assert t.view() is not first and t.view().present["M"] == {"d1", "d2"}


events = st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3"]), st.sampled_from(["A", "B"]),
                            st.booleans()), max_size=60)


@settings(max_examples=400, deadline=None)
@given(events)
def test_simulation_gone_exactly_when_absent_everywhere_and_reported_once(seq):
    """Model check: a nick is reported gone iff its last state on every seen directory is absent."""
    t = NickTracker()
    model: dict[str, dict[str, bool]] = {}
    for directory, nick, present in seq:
        gone = t.apply_peerlist(directory, [entry(nick, gone=not present)])
        seen = model.setdefault(nick, {})
        if present:
            seen[directory] = True
            assert gone == []
        elif directory in seen:
            seen[directory] = False
            expect_gone = not any(seen.values())
            assert gone == ([nick] if expect_gone else [])
            if expect_gone:
                del model[nick]
        else:
            assert gone == []
            if not seen:
                del model[nick]
        for n, dirs in model.items():
            assert t.is_active(n) == any(dirs.values())


def test_each_directory_fills_only_its_own_share():
    t = NickTracker(max_nicks=4, directories=2)  # a share of 2 pairs each
    t.apply_peerlist("evil", [entry(f"X{i}") for i in range(10)])
    t.apply_peerlist("good", [entry("M"), entry("N")])
    assert t.is_active("M") and t.is_active("N") and len(t) == 4
    assert t.refused_nicks == 8
    t.mark_present("M", "evil")  # evil's share is full: it cannot even claim M
    assert t.view().present["M"] == {"good"}


def test_forgetting_a_directory_drops_only_what_it_alone_said():
    t = NickTracker(directories=2)
    t.apply_peerlist("lost", [entry("M"), entry("G")])
    t.apply_peerlist("here", [entry("M")])
    assert t.forget_directory("lost") == ["G"]
    assert t.is_active("M") and not t.is_active("G")
    assert t.view().listed["M"] == {"here"} and t.count("lost") == 0


OTHER = "b" * 56 + ".onion:5222"


def test_location_needs_a_plurality_and_conflicts_are_reported():
    t = NickTracker(directories=3)
    t.apply_peerlist("d1", [entry("M", loc=LOC)])
    assert t.view().locations["M"] == LOC
    t.apply_peerlist("d2", [entry("M", loc=OTHER)])
    assert "M" not in t.view().locations  # one against one: no location at all
    assert t.location_conflicts == 1 and t.conflicts == [("M", {"d1": LOC, "d2": OTHER})]
    t.apply_peerlist("d3", [entry("M", loc=LOC)])
    assert t.view().locations["M"] == LOC  # two against one
    t.apply_peerlist("d1", [entry("M", gone=True)])
    assert "M" not in t.view().locations  # the withdrawn claim no longer counts
