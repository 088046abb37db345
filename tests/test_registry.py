import subprocess
import sys

import pytest

from methods import registry


def test_listing_methods_imports_no_torch():
    # the registry must stay lazy: naming methods never imports a plugin or torch
    code = ("import sys, methods.registry as r; names = r.all_methods(); "
            "assert 'linear' in names; assert 'torch' not in sys.modules, 'torch imported'; "
            "assert not any(m.startswith('methods.') and m not in ('methods.registry',) for m in sys.modules), "
            "[m for m in sys.modules if m.startswith('methods.')]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_method_suggests_close_names():
    with pytest.raises(KeyError) as e:
        registry.get_method("lineer")
    msg = str(e.value)
    assert "Did you mean 'linear'" in msg and "skeletoncontext" in msg


def test_entry_point_plugins_are_discovered(monkeypatch):
    class EP:
        name, value = "my_method", "tests_fake_module:MyMethod"

    def fake_entry_points(group):
        assert group == "zssar.methods"
        return [EP()]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    assert registry.all_methods()["my_method"] == "tests_fake_module:MyMethod"
    with pytest.raises(ImportError, match="my_method"):
        registry.get_method("my_method")  # listed, but its module does not exist


def test_builtin_names_win_over_entry_points(monkeypatch):
    class EP:
        name, value = "linear", "elsewhere:Linear"

    monkeypatch.setattr(registry, "entry_points", lambda group: [EP()])
    assert registry.all_methods()["linear"] == "methods.baselines:Linear"


def test_list_methods_cli(capsys):
    from zssar.cli import main
    assert main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    assert "linear" in out and "chance" in out
