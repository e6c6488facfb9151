"""`dhscan sweep` and `dhscan erase`: the run loop, observed by the retention side."""

from __future__ import annotations

from pathlib import Path

from detectors.config import ScanConfig
from retention.erase import ErasureEvaluator, ErasureRequest, erasure_policy, selector
from retention.holds import Hold, hold_entity_types
from retention.observer import RetentionObserver
from scanner.core.sampling import SamplePlan
from scanner.runs.loop import Run, run
from scanner.runs.settings import RunSettings


def run_sweep(settings: RunSettings, command_line: list[str], **options) -> Run:
    observer = RetentionObserver(settings.policy, settings.holds, settings.now, parquet=settings.parquet,
                                 fail_on=settings.fail_on, strict=settings.strict,
                                 policy_path=settings.policy_path, holds_path=settings.holds_path)
    return run(settings.sources, settings.plan, settings.config, settings.out_dir, command_line, observer,
               sarif=settings.sarif, **options)


def run_erase(sources: list[str], request: ErasureRequest, config: ScanConfig, holds: list[Hold],
              holds_path: str | None, out_dir: Path, command_line: list[str], **options) -> Run:
    """Every record about the request's subject, read in full: on the deletion worklist, or held."""
    target = selector(request)

    def evaluator(policy, holds, now, key):
        target.seal(key, names_in_text=False)  # erasure deletes what detection found; holds keep more
        return ErasureEvaluator(target, policy, holds, now, key)

    observer = RetentionObserver(erasure_policy(request), holds, None, command="erase", holds_path=holds_path,
                                 evaluator_factory=evaluator, subject_entities=hold_entity_types([target]))
    return run(sources, SamplePlan("full"), config, out_dir, command_line, observer, **options)
