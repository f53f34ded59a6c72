"""Fixtures for seeded, replayable fault scenarios: one :class:`~tests.helpers.scenario.Scenario`
per test, and its replay hint attached to any failure report."""

import pytest

from tests.helpers.scenario import Scenario, scenario_seed


@pytest.fixture
def scenario(request):
    s = Scenario(request.node.name, scenario_seed(request.node.nodeid))
    request.node._fault_scenario = s
    try:
        yield s
        if not getattr(request.node, "_fault_failed", False):
            s.assert_not_escalated()
            if not s.expect_bugs:
                s.assert_no_bug_exits()
    finally:
        s.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Any failure of a scenario test (not only ``check``/``wait``) shows how to replay it."""
    outcome = yield
    report = outcome.get_result()
    scenario = getattr(item, "_fault_scenario", None)
    if scenario is not None and report.failed:
        item._fault_failed = True
        report.sections.append(("fault plan replay", scenario.report()))
