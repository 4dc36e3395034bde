"""ChannelSequencer: order, snapshot cut-off, held gaps and their release."""

import json

from realtime.sequencing import ChannelSequencer
from realtime.wire import WireFrame


def event(seq: int) -> WireFrame:
    text = json.dumps({"type": "order_update", "channel": "orders", "seq": seq})
    return WireFrame("orders", seq, seq, "order_update", 0.0, text)


def batch(first: int, last: int) -> WireFrame:
    events = [{"type": "position_update", "seq": s} for s in range(first, last + 1)]
    payload = {
        "type": "batch",
        "channel": "positions",
        "from_seq": first,
        "seq": last,
        "events": events,
    }
    return WireFrame("positions", first, last, "batch", 0.0, json.dumps(payload))


def test_nothing_passes_before_the_snapshot() -> None:
    assert ChannelSequencer().offer(event(1)) == []


def test_events_covered_by_snapshot_are_dropped() -> None:
    sequencer = ChannelSequencer()
    sequencer.reset(5)
    assert sequencer.offer(event(4)) == []
    assert sequencer.offer(event(5)) == []
    assert sequencer.offer(event(6)) == [event(6)]


def test_straddling_batch_is_trimmed_to_after_the_snapshot() -> None:
    sequencer = ChannelSequencer()
    sequencer.reset(3)
    [frame] = sequencer.offer(batch(2, 5))
    assert (frame.first_seq, frame.seq) == (4, 5)
    payload = frame.payload()
    assert payload["from_seq"] == 4
    assert [e["seq"] for e in payload["events"]] == [4, 5]


def test_out_of_order_event_is_held_until_the_gap_fills() -> None:
    sequencer = ChannelSequencer()
    sequencer.reset(0)
    assert sequencer.offer(event(2)) == []
    assert sequencer.holding
    assert sequencer.offer(event(1)) == [event(1), event(2)]
    assert not sequencer.holding


def test_release_all_gives_up_on_a_gap_in_order() -> None:
    sequencer = ChannelSequencer()
    sequencer.reset(0)
    sequencer.offer(event(4))
    sequencer.offer(event(3))
    assert [f.seq for f in sequencer.release_all()] == [3, 4]
    assert sequencer.offer(event(2)) == []  # too late: the client resyncs instead
    assert sequencer.offer(event(5)) == [event(5)]


def test_reset_discards_held_frames_the_snapshot_covers() -> None:
    sequencer = ChannelSequencer()
    sequencer.reset(0)
    sequencer.offer(event(3))
    sequencer.offer(event(9))
    sequencer.reset(5)
    assert [f.seq for f in sequencer.release_all()] == [9]
