"""YAML for configs typed by strangers: ``yaml.safe_load`` with its cost bounded first.

Why: ``safe_load`` refuses Python tags but not size. A 566-byte document of nested aliases
("billion laughs") expands to 10^9 values: minutes of CPU and gigabytes of memory, slowing every other
session of the hosted app. Here the text size is capped, then the composed node graph (where
an alias is a shared node, so composing is cheap) is measured — depth, and node count with
every alias expanded — before a single Python object is constructed.

Examples
--------
>>> bounded_safe_load("a: [1, 2]")
{'a': [1, 2]}
"""

from __future__ import annotations

from typing import Any

import yaml

from genre.errors import ConfigError

#: Limits of the YAML parser, checked before any Python object is built: a config is a few
#: kilobytes, and a 566-byte "billion laughs" document must fail at once, not after minutes.
MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_DEPTH = 32
MAX_CONFIG_NODES = 20_000   # scalars + collections after alias expansion


def bounded_safe_load(text: str) -> Any:
    """``yaml.safe_load(text)`` with size, depth and alias-expansion limits checked on the
    composed node graph, before any Python object exists."""
    if len(text) > MAX_CONFIG_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the config is larger than {MAX_CONFIG_BYTES // 1024} KB; a run config is "
                          f"a few KB of YAML")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, 1, {}, set())
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigError(f"the config is not valid YAML (only plain YAML is accepted, no "
                          f"python tags): {error}") from None
    except RecursionError:
        raise ConfigError(f"the config nests deeper than {MAX_CONFIG_DEPTH} levels") from None
    finally:
        loader.dispose()


def _measure(node: yaml.Node, depth: int, sizes: dict[int, tuple[int, int]], active: set[int]) -> tuple[int, int]:
    """(expanded node count, height) of ``node``; ConfigError past the limits or on a cycle.

    Aliases make the graph a DAG whose shared nodes would be copied on construction: each
    node is measured once (memo) but counted as many times as it is referenced.
    """
    key = id(node)
    if key in sizes:
        count, height = sizes[key]
    else:
        if key in active:
            raise ConfigError("the config refers to itself (a recursive YAML alias); write the values out")
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"the config nests deeper than {MAX_CONFIG_DEPTH} levels")
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        active.add(key)
        count, height = 1, 0
        for child in children:
            child_count, child_height = _measure(child, depth + 1, sizes, active)
            count += child_count
            height = max(height, child_height + 1)
            if count > MAX_CONFIG_NODES:
                break
        active.discard(key)
        sizes[key] = (count, height)
    if count > MAX_CONFIG_NODES:
        raise ConfigError(f"the config expands to more than {MAX_CONFIG_NODES} values (YAML aliases "
                          f"repeated many times?); write a plain config without nested aliases")
    if depth + height > MAX_CONFIG_DEPTH:
        raise ConfigError(f"the config nests deeper than {MAX_CONFIG_DEPTH} levels")
    return count, height
