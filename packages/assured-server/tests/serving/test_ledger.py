"""``ConnectionLedger``: at the cap the longest-waiting connection goes; running ones never."""

from __future__ import annotations

from dataclasses import dataclass

from assured_server.serving.ledger import FD_RESERVE, ConnectionLedger, connection_cap


@dataclass(eq=False)
class Conn:
    name: str
    evicted: bool = False

    def evict(self) -> None:
        self.evicted = True


def test_at_the_cap_the_longest_waiting_connection_makes_room() -> None:
    ledger = ConnectionLedger(cap=3)
    a, b, c, d = (Conn(n) for n in "abcd")
    for conn in (a, b, c):
        assert ledger.admit(conn)
    ledger.running(a)  # a request in the app: never evicted
    ledger.waiting(b)  # b answered a request: it waits from now, after c
    assert ledger.admit(d)
    assert (a.evicted, b.evicted, c.evicted) == (False, False, True)
    assert len(ledger) == 3
    ledger.forget(c)  # its close completes later: already not counted
    assert len(ledger) == 3


def test_when_every_connection_has_a_request_running_the_new_one_is_refused() -> None:
    ledger = ConnectionLedger(cap=2)
    a, b, c = (Conn(n) for n in "abc")
    assert ledger.admit(a) and ledger.admit(b)
    ledger.running(a)
    ledger.running(b)
    assert not ledger.admit(c)
    assert not (a.evicted or b.evicted)
    ledger.forget(a)
    assert ledger.admit(c)


def test_a_forgotten_connection_is_never_evicted() -> None:
    ledger = ConnectionLedger(cap=1)
    a, b = Conn("a"), Conn("b")
    assert ledger.admit(a)
    ledger.forget(a)
    assert len(ledger) == 0
    assert ledger.admit(b) and not a.evicted


def test_the_cap_leaves_descriptors_for_everything_else() -> None:
    assert connection_cap(1000, 1 << 20) == 1000
    assert connection_cap(1000, 200) == (200 - FD_RESERVE) // 2
    assert connection_cap(1000, 10) == 1
