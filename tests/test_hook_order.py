"""Hook order is decided in one place: settings.HOOKS and the comment above it."""

from __future__ import annotations

import inspect

from fraud_detection import settings
from fraud_detection.hooks.mlflow_tracking import MlflowTrackingHook
from fraud_detection.hooks.provenance import ProvenanceHook


def _implementations(hook: object) -> dict[str, dict]:
    """Kedro's ``@hook_impl`` marks each implementation with pluggy's ``kedro_impl``."""
    return {name: member.kedro_impl
            for name, member in inspect.getmembers(hook) if hasattr(member, "kedro_impl")}


def test_no_implementation_asks_to_go_first_or_last():
    for hook in settings.HOOKS:
        for name, options in _implementations(hook).items():
            assert not options.get("tryfirst") and not options.get("trylast"), (
                f"{type(hook).__name__}.{name}: order it in settings.HOOKS instead")


def test_provenance_ends_a_run_before_the_mlflow_hook_closes_its_mlflow_run():
    """Pluggy calls the last registered first: provenance after MLflow in the tuple."""
    kinds = [type(hook) for hook in settings.HOOKS]
    assert kinds.index(ProvenanceHook) > kinds.index(MlflowTrackingHook)


def test_the_hooks_share_one_run_record():
    sharing = [h for h in settings.HOOKS if isinstance(h, (MlflowTrackingHook, ProvenanceHook))]
    assert len(sharing) == 2 and all(hook._records is settings.RUNS for hook in sharing)
