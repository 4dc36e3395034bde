"""autobahn's per-connection debug lines are formatted only when written (daphne_shim, 5)."""

from pprint import pformat

from autobahn.websocket import protocol

from realtime.daphne_shim import PrettyWhenLogged, _patch_debug_formatting


class Counted:
    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "Counted()"


def test_nothing_is_formatted_until_the_line_is_and_then_as_pformat_would() -> None:
    value = Counted()
    lazy = PrettyWhenLogged([("openHandshakeTimeout", value, "Factory")])
    assert value.reprs == 0
    template = "\n{attrs}"  # autobahn's debug line; txaio formats it with str.format
    line = template.format(attrs=lazy)
    assert value.reprs == 1
    assert line == "\n" + pformat([("openHandshakeTimeout", value, "Factory")])


def test_autobahn_gets_the_lazy_pformat_and_its_timings_still_print() -> None:
    _patch_debug_formatting()
    assert getattr(protocol, "pformat") is PrettyWhenLogged  # noqa: B009 (not exported)
    timings = protocol.Timings()
    timings.track("onOpen")
    assert str(timings).startswith("{'onOpen': ")
