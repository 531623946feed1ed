"""The LLMClient protocol and the one batched driver every LLM use goes through.

A client only knows how to answer one prompt; ``complete_many`` adds what a long run needs:
the on-disk output cache (so a stopped run resumes where it stopped), progress with a time
estimate, and cancellation from the app.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, runtime_checkable

from genre.errors import ConfigError, LLMError

if TYPE_CHECKING:
    from genre.llm.cache import OutputCache

logger = logging.getLogger("genre")

#: progress(done, total, message) — the app wires it to st.progress, the CLI to logging.
Progress = Callable[[int, int, str], None]


@runtime_checkable
class LLMClient(Protocol):
    """Anything that turns one prompt into one short completion.

    ``model_id`` must be stable across processes (it keys the output cache) and change
    whenever the same prompt could produce a different answer (other weights, other server
    model).
    """

    model_id: str

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        ...


class LLMCancelled(LLMError):
    """``should_stop`` asked a batch to stop; the outputs finished so far are cached."""


def complete_many(
    client: LLMClient,
    prompts: Sequence[str],
    *,
    max_tokens: int = 24,
    temperature: float = 0.0,
    cache: "OutputCache | None" = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[str]:
    """Complete every prompt, in order, reusing cached outputs and caching new ones.

    Identical prompts are generated once. Each new output is written to ``cache`` as soon
    as it exists, so an interrupted run (error, cancel, killed process) loses at most the
    prompt in flight.

    Raises
    ------
    LLMCancelled
        When ``should_stop()`` turns true; run again with the same cache to resume.
    LLMError
        When the client fails; outputs produced before the failure stay cached.
    """
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be at least 1, got {max_tokens}")
    total = len(prompts)
    answers: dict[str, str] = {}
    if cache is not None:
        answers = cache.get_many(client.model_id, set(prompts), max_tokens, temperature)
    remaining = Counter(p for p in prompts if p not in answers)  # in order of first use
    todo = list(remaining)
    done = total - sum(remaining.values())
    if progress is not None:
        progress(done, total, f"{done}/{total} from cache, {len(todo)} prompts to generate")
    started = time.monotonic()
    for number, prompt in enumerate(todo):
        if should_stop is not None and should_stop():
            raise LLMCancelled(f"stopped after {done} of {total} outputs; finished outputs are "
                               f"cached: run again with the same cache to resume")
        output = client.complete(prompt, max_tokens=max_tokens, temperature=temperature)
        if not isinstance(output, str):
            raise LLMError(f"{client.model_id} returned {type(output).__name__}, expected text")
        answers[prompt] = output
        if cache is not None:
            cache.put(client.model_id, prompt, max_tokens, temperature, output)
        done += remaining[prompt]
        if progress is not None:
            progress(done, total, _eta_message(done, total, number + 1, len(todo),
                                               time.monotonic() - started))
    logger.info("%s: %d outputs (%d generated, %d from cache)", client.model_id, total,
                len(todo), total - sum(remaining.values()))
    return [answers[p] for p in prompts]


def _eta_message(done: int, total: int, generated: int, to_generate: int, elapsed: float) -> str:
    """'40/200 · 1.8 s per prompt · about 4 min left' from the generation rate so far."""
    per_prompt = elapsed / generated
    left = per_prompt * (to_generate - generated)
    return f"{done}/{total} · {per_prompt:.1f} s per prompt · about {_duration(left)} left"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def make_client(kind: str = "embedded", **options: Any) -> LLMClient:
    """Build a client from a config: ``"embedded"`` (llama.cpp) or ``"http"`` (OpenAI-compatible).

    ``options`` go to ``EmbeddedClient`` or ``HTTPClient`` unchanged.

    Examples
    --------
    >>> client = make_client("http", base_url="http://127.0.0.1:8000/v1", model="smollm2")
    >>> client.model_id
    'http://127.0.0.1:8000/v1#smollm2'
    """
    if kind == "embedded":
        from genre.llm.embedded import EmbeddedClient as cls
    elif kind == "http":
        from genre.llm.http import HTTPClient as cls
    else:
        raise ConfigError(f"unknown LLM client kind {kind!r}; valid kinds: embedded, http")
    valid = [name for name in inspect.signature(cls).parameters]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"the {kind} LLM client has no option(s) {', '.join(unknown)}; "
                          f"valid options: {', '.join(valid)}")
    return cls(**options)
