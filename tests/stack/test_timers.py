"""The deadline queue against a plain dict model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tcpip6.stack.timers import DeadlineQueue

ops = st.lists(
    st.one_of(
        st.tuples(st.just("arm"), st.integers(0, 9), st.floats(0, 100)),
        st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0.0)),
        st.tuples(st.just("pop"), st.just(0), st.floats(0, 100)),
    ),
    max_size=200,
)


@given(ops)
def test_queue_agrees_with_dict_model(script: list[tuple[str, int, float]]) -> None:
    q: DeadlineQueue[int] = DeadlineQueue()
    model: dict[int, float] = {}
    for op, key, value in script:
        if op == "arm":
            q.arm(key, value)
            model[key] = value
        elif op == "cancel":
            q.cancel(key)
            model.pop(key, None)
        else:
            due = q.pop_due(value)
            expected = sorted((d, k) for k, d in model.items() if d <= value)
            assert sorted(due) == sorted(k for _, k in expected)
            assert [model[k] for k in due] == sorted(model[k] for k in due)
            for k in due:
                del model[k]
        assert len(q) == len(model)
        assert q.next_deadline() == (min(model.values()) if model else None)
