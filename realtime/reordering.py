"""Per-channel ordering of one socket's events, with a timer that stops waiting on a gap.

Each channel's ChannelSequencer (realtime.sequencing) drops what the snapshot covers and
holds frames that arrive ahead of a missing seq. If the gap is still open after the wait,
the held frames go out anyway and the client, seeing the gap, resubscribes.
"""

from collections.abc import Callable, Iterable

from realtime.sequencing import ChannelSequencer
from realtime.wire import WireFrame


class Reordering:
    def __init__(
        self,
        channels: Iterable[str],
        wait_seconds: float,
        later: Callable[..., None],
        release: Callable[[str, list[WireFrame]], None],
    ) -> None:
        self.wait_seconds = wait_seconds
        self._later = later
        self._release = release
        self._sequencers = {channel: ChannelSequencer() for channel in channels}

    def start(self, channel: str, snapshot_seq: int) -> None:
        """A snapshot at `snapshot_seq` went out on `channel`."""
        self._sequencers[channel].reset(snapshot_seq)

    def stop(self, channel: str) -> None:
        """The channel was left: nothing is held or expected any more."""
        self._sequencers[channel] = ChannelSequencer()

    def offer(self, channel: str, frame: WireFrame) -> list[WireFrame]:
        """The frames ready to go out now, in seq order."""
        sequencer = self._sequencers[channel]
        ready = sequencer.offer(frame)
        if sequencer.holding:
            self._later(self.wait_seconds, self._give_up, channel)
        return ready

    def _give_up(self, channel: str) -> None:
        ready = self._sequencers[channel].release_all()
        if ready:
            self._release(channel, ready)
