"""The per-connection read pacing rule (actors/net/backlog.py LineRate), with a fake clock."""

from actors.net.backlog import LineRate


def test_a_burst_passes_then_lines_are_paced_at_the_rate():
    rate = LineRate(100, burst=200)
    assert rate.take(200, 0.0) == 0.0  # the burst
    assert rate.take(50, 0.0) == 0.5  # 50 lines over: half a second at 100/s
    assert rate.take(0, 0.5) == 0.0  # slept it off
    assert rate.take(100, 1.5) == 0.0  # a second later: 100 more tokens


def test_tokens_never_exceed_the_burst_and_zero_means_unlimited():
    rate = LineRate(10, burst=20)
    assert rate.take(1, 0.0) == 0.0
    assert rate.take(21, 1_000.0) == 0.1  # refilled to 20, not 10,000
    assert LineRate(0).take(10**9, 0.0) == 0.0
