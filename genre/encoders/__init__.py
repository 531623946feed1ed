"""Encoders: item content (text, categories, images, your own vectors) → L2-normalized vectors.

``make_encoder(name, **params)`` builds one of ``ENCODER_NAMES``; ``encode_cached`` runs it
through the on-disk ``EmbeddingCache``; ``build_item_vectors`` turns a dataset and a list of
``Modality`` into the weighted item vectors that content-aware recommenders use.
Importing this package is cheap: models and heavy libraries load on first use.
"""

from genre.encoders.base import Encoder, Progress, Vectors, l2_normalize
from genre.encoders.cache import (EmbeddingCache, encode_cached,
                                  encode_with_report)
from genre.encoders.image import images_from_folder, images_from_zip
from genre.encoders.modalities import ItemVectors, Modality, build_item_vectors, modality_inputs
from genre.encoders.registry import ENCODER_NAMES, encoder_params, input_kind, make_encoder

__all__ = [
    "ENCODER_NAMES", "Encoder", "EmbeddingCache", "ItemVectors", "Modality", "Progress", "Vectors",
    "build_item_vectors", "encode_cached", "encode_with_report",
    "encoder_params", "images_from_folder", "images_from_zip", "input_kind", "l2_normalize",
    "make_encoder", "modality_inputs",
]
