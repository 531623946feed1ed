"""Language models in GENRE: clients, the output cache, and the three uses.

- clients: ``EmbeddedClient`` (the packaged SmolLM2-135M GGUF run by transformers, batched),
  ``HTTPClient`` (any OpenAI-compatible server, through the ``openai`` package), ``make_client``;
  all driven by ``complete_many`` (batches or bounded concurrency, cache, progress, cancel);
- the outbound policy for server URLs typed in the app (``check_app_url``, ``app_client_options``);
- item enrichment (``enrich_items``, ``select_items``, ``load_enrichment``, ``with_enrichment``);
- user profiles (``profile_users``) for ``ProfileRecommender``;
- genre tagging (``zero_shot_genres``, ``GenreClassifier``, ``evaluate_tagging``, ``llm_genres``).

Nothing heavy is imported here: torch and transformers load on the first embedded completion,
``openai`` on the first request, scikit-learn on the first classifier fit.
"""

from genre.llm.base import Generation, LLMCancelled, LLMClient, complete_many, make_client
from genre.llm.cache import OutputCache
from genre.llm.embedded import EmbeddedClient, export_hf_folder, packaged_model_path
from genre.llm.endpoints import app_client_options, check_app_url
from genre.llm.enrich import enrich_items, load_enrichment, select_items, with_enrichment
from genre.llm.http import HTTPClient
from genre.llm.parse import ParseReport, parse_reply
from genre.llm.profiles import profile_users
from genre.llm.prompts import ITEM_TEMPLATE, PROFILE_TEMPLATE, check_template
from genre.llm.tagging import (GenreClassifier, evaluate_tagging, label_texts, llm_genres, tag_missing_genres,
                               zero_shot_genres)

__all__ = [
    "Generation", "LLMClient", "LLMCancelled", "complete_many", "make_client",
    "EmbeddedClient", "HTTPClient", "packaged_model_path", "export_hf_folder",
    "OutputCache", "check_app_url", "app_client_options",
    "ParseReport", "parse_reply",
    "ITEM_TEMPLATE", "PROFILE_TEMPLATE", "check_template",
    "enrich_items", "select_items", "load_enrichment", "with_enrichment",
    "profile_users",
    "GenreClassifier", "zero_shot_genres", "llm_genres", "label_texts", "tag_missing_genres", "evaluate_tagging",
]
