"""The LLMClient protocol and the one batched driver every LLM use goes through.

A client only knows how to answer one prompt (and, optionally, a batch of prompts at once);
``complete_many`` adds what a long run needs: batching or bounded concurrency, the on-disk
output cache (so a stopped run resumes where it stopped), progress with a time estimate from
the measured throughput, and cancellation from the app.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, runtime_checkable

from genre.errors import Cancelled, ConfigError, LLMError
from genre.llm.embedded import EmbeddedClient
from genre.llm.http import HTTPClient
from genre.llm.parse import ParseReport, parse_reply

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
    model). Optional, read by ``complete_many``: ``complete_batch(prompts, max_tokens,
    temperature) -> list[str]`` with ``batch_size`` (prompts per call), and
    ``default_concurrency`` (calls in flight at once; 1 when absent).
    """

    model_id: str

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        ...


class LLMCancelled(LLMError, Cancelled):
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
    max_concurrency: int | None = None,
) -> list[str]:
    """Complete every prompt, reusing cached outputs and caching new ones; results in input order.

    Identical prompts are generated once. Work goes out in units: a batch of
    ``client.batch_size`` prompts for a client with ``complete_batch`` (the embedded model:
    one forward pass serves the whole batch), else one prompt. At most ``max_concurrency``
    units are in flight at once (default ``client.default_concurrency``: 8 for a server, 1
    for the embedded model). Each output is cached as soon as its unit finishes, so an
    interrupted run (error, cancel, killed process) loses at most the units in flight.

    Raises
    ------
    LLMCancelled
        When ``should_stop()`` turns true; units in flight finish and are cached first. Run
        again with the same cache to resume.
    LLMError
        When the client fails; outputs produced before the failure stay cached.
    """
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be at least 1, got {max_tokens}")
    workers = int(max_concurrency if max_concurrency is not None
                  else getattr(client, "default_concurrency", 1))
    if workers < 1:
        raise ConfigError(f"max_concurrency must be at least 1, got {workers}")
    total = len(prompts)
    answers: dict[str, str] = {}
    if cache is not None:
        answers = cache.get_many(client.model_id, set(prompts), max_tokens, temperature)
    remaining = Counter(p for p in prompts if p not in answers)  # in order of first use
    pending = iter(_units(client, list(remaining)))
    done = total - sum(remaining.values())
    if progress is not None:
        progress(done, total, f"{done}/{total} from cache, {len(remaining)} prompts to generate")
    started, generated = time.monotonic(), 0
    failure: BaseException | None = None
    cancelled = False
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genre-llm") as pool:
        in_flight: dict[Future, list[str]] = {}
        while True:
            cancelled = cancelled or (should_stop is not None and should_stop())
            while failure is None and not cancelled and len(in_flight) < workers:
                unit = next(pending, None)
                if unit is None:
                    break
                in_flight[pool.submit(_run, client, unit, max_tokens, temperature)] = unit
            if not in_flight:
                break
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                unit = in_flight.pop(future)
                if future.exception() is not None:
                    failure = failure or future.exception()
                    continue
                for prompt, output in zip(unit, future.result()):
                    answers[prompt] = output
                    if cache is not None:
                        cache.put(client.model_id, prompt, max_tokens, temperature, output)
                    done += remaining[prompt]
                generated += len(unit)
                if progress is not None:
                    progress(done, total, _eta_message(done, total, generated, len(remaining),
                                                       time.monotonic() - started))
    if failure is not None:
        raise failure
    if done < total:
        raise LLMCancelled(f"stopped after {done} of {total} outputs; finished outputs are "
                           f"cached: run again with the same cache to resume")
    logger.info("%s: %d outputs (%d generated, %d from cache)", client.model_id, total,
                len(remaining), total - sum(remaining.values()))
    return [answers[p] for p in prompts]


def _units(client: LLMClient, todo: list[str]) -> list[list[str]]:
    """Prompts grouped into what one call handles: batches of similar length, or singles.

    Sorting by length before batching keeps padding (wasted compute) low; the order of the
    results does not depend on it.
    """
    if not hasattr(client, "complete_batch"):
        return [[prompt] for prompt in todo]
    size = int(getattr(client, "batch_size", 1))
    if size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {size}")
    todo = sorted(todo, key=len)
    return [todo[i:i + size] for i in range(0, len(todo), size)]


def _run(client: LLMClient, unit: list[str], max_tokens: int, temperature: float) -> list[str]:
    """One call: the unit's outputs, checked to be one text per prompt."""
    if hasattr(client, "complete_batch"):
        outputs = list(client.complete_batch(unit, max_tokens=max_tokens, temperature=temperature))
    else:
        outputs = [client.complete(unit[0], max_tokens=max_tokens, temperature=temperature)]
    wrong = [type(o).__name__ for o in outputs if not isinstance(o, str)]
    if wrong or len(outputs) != len(unit):
        got = wrong[0] if wrong else f"{len(outputs)} outputs"
        raise LLMError(f"{client.model_id} returned {got} for {len(unit)} prompt(s), expected text")
    return outputs


def _eta_message(done: int, total: int, generated: int, to_generate: int, elapsed: float) -> str:
    """'40/200 · 2.1 prompts/s · about 4 min left' from the throughput measured so far."""
    rate = generated / max(elapsed, 1e-9)
    left = (to_generate - generated) / rate
    speed = f"{rate:.1f} prompts/s" if rate >= 1 else f"{1 / rate:.1f} s per prompt"
    return f"{done}/{total} · {speed} · about {_duration(left)} left"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def make_client(kind: str = "embedded", **options: Any) -> LLMClient:
    """Build a client from a config: ``"embedded"`` (transformers) or ``"http"`` (OpenAI-compatible).

    ``options`` go to ``EmbeddedClient`` or ``HTTPClient`` unchanged.

    Examples
    --------
    >>> client = make_client("http", base_url="http://127.0.0.1:8000/v1", model="smollm2")
    >>> client.model_id
    'http://127.0.0.1:8000/v1#smollm2'
    """
    if kind == "embedded":
        cls = EmbeddedClient
    elif kind == "http":
        cls = HTTPClient
    else:
        raise ConfigError(f"unknown LLM client kind {kind!r}; valid kinds: embedded, http")
    valid = [name for name in inspect.signature(cls).parameters]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"the {kind} LLM client has no option(s) {', '.join(unknown)}; "
                          f"valid options: {', '.join(valid)}")
    return cls(**options)


@dataclass
class Generation:
    """How GENRE asks a language model for short texts (item descriptions, user profiles): the one
    call behind ``enrich_items`` and ``profile_users``.

    ``max_tokens`` / ``temperature`` go to the model; replies are cleaned by ``parse_reply`` and
    cut at ``max_chars``; ``cache`` reuses earlier outputs; ``progress`` / ``should_stop`` report
    and cancel; ``max_concurrency`` bounds parallel requests to a server.
    """

    max_tokens: int = 24
    temperature: float = 0.0
    max_chars: int = 200
    cache: "OutputCache | None" = None
    progress: Progress | None = None
    should_stop: Callable[[], bool] | None = None
    max_concurrency: int | None = None

    def texts(self, client: LLMClient, prompts: Sequence[str]) -> tuple[list[str], ParseReport]:
        """Each prompt's cleaned reply, in order, and the report of what cleaning did."""
        replies = complete_many(client, prompts, max_tokens=self.max_tokens, temperature=self.temperature,
                                cache=self.cache, progress=self.progress, should_stop=self.should_stop,
                                max_concurrency=self.max_concurrency)
        report = ParseReport()
        return [parse_reply(reply, max_chars=self.max_chars, report=report) for reply in replies], report
