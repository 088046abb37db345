from dataclasses import dataclass

import pytest

from methods.base import apply_overrides


@dataclass
class Cfg:
    lr: float = 0.1
    epochs: int = 3
    use_x: bool = True
    name: str = "a"
    steps: tuple = (1, 2)
    maybe: int | None = None


def test_typed_overrides_with_and_without_prefix():
    cfg = apply_overrides(Cfg(), {"m.lr": "0.5", "epochs": "7", "m.use_x": "false", "name": "b",
                                  "steps": "[3, 4]", "maybe": "none"}, "m")
    assert cfg == Cfg(lr=0.5, epochs=7, use_x=False, name="b", steps=(3, 4), maybe=None)
    assert apply_overrides(Cfg(), {"maybe": "5"}, "m").maybe == 5


@pytest.mark.parametrize("key,value,needle", [
    ("epochs", "2.5", "expected int"),
    ("use_x", "maybe", "expected bool"),
    ("lr", "fast", "expected float"),
    ("steps", "3", "expected a list"),
])
def test_wrong_types_are_refused(key, value, needle):
    with pytest.raises(ValueError, match=needle):
        apply_overrides(Cfg(), {key: value}, "m")


def test_unknown_key_fails_with_suggestion():
    with pytest.raises(KeyError, match="Did you mean 'epochs'"):
        apply_overrides(Cfg(), {"m.epoch": "3"}, "m")
